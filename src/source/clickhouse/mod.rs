//! ClickHouse as a source: the OpenTelemetry Collector `clickhouseexporter`'s tables
//! (`otel_traces`, `otel_logs`) read over ClickHouse's HTTP interface and turned back into OTLP
//! export requests. A `clickhouse://` URL is accepted wherever a capture file is: [`open`] gives
//! one stream per table in the capture reader's length-delimited protobuf form, so `report`,
//! `replay`, `check`, `dataset`, `diff` and `--baseline` read it as they read a Collector
//! `file` exporter capture. [`tail`] polls for new rows for the live monitor.
//!
//! Each stream is one query, read as it arrives ([`http`]) and converted a batch of rows at a
//! time ([`rows`]): memory stays flat however many rows the range holds.

pub mod http;
pub mod query;
pub mod rows;
pub mod schema;
pub mod tail;
pub mod url;

use crate::ingest::capture::{Message, Signal};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::io::{BufRead, Read};

pub use url::{Target, is_clickhouse};

/// The environment variable a password is read from when the URL has none.
pub const PASSWORD_ENV: &str = "LLMWATCH_CLICKHOUSE_PASSWORD";

/// The exporter's trace-id lookup table (`traces_id_ts_lookup_table.sql`), named after the
/// traces table.
fn lookup_table(table: &str) -> String {
    format!("{table}_trace_id_ts")
}

/// Rows per export request: large enough that per-request costs vanish, small enough that a
/// batch is a few hundred kilobytes.
const BATCH_ROWS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad ClickHouse URL: {0}")]
    Url(String),
    #[error("cannot reach {0}: {1}")]
    Connect(String, String),
    #[error("ClickHouse: {0}")]
    Query(String),
    #[error("{0}")]
    Schema(String),
}

/// One table's rows as a stream of OTLP length-delimited protobuf messages.
pub struct Opened {
    /// The URL without password, and the table.
    pub name: String,
    pub signal: Signal,
    pub reader: Box<dyn Read + Send>,
}

/// Parses `url` (password from [`PASSWORD_ENV`] when the URL has none).
pub fn target(url: &str) -> Result<Target, Error> {
    url::parse(url, std::env::var(PASSWORD_ENV).ok())
}

/// Checks both tables and starts their queries: the traces table must be there; the logs
/// table is read when it exists.
pub fn open(url: &str) -> Result<Vec<Opened>, Error> {
    let target = target(url)?;
    let tables = Tables::describe(&target)?;
    let mut out = Vec::with_capacity(2);
    for signal in [Signal::Traces, Signal::Logs] {
        if let Some(rows) = tables.rows(&target, signal, query::Cursor::default())? {
            out.push(Opened {
                name: format!("{}/{}", target.display_name(), tables.table_name(&target, signal)),
                signal,
                reader: Box::new(Frames {
                    rows,
                    frame: Vec::new(),
                    pos: 0,
                }),
            });
        }
    }
    Ok(out)
}

/// What `DESC TABLE` found.
#[derive(Clone, Debug)]
pub struct Tables {
    traces: schema::Schema,
    logs: Option<schema::Schema>,
    trace_lookup: bool,
}

impl Tables {
    pub fn describe(target: &Target) -> Result<Self, Error> {
        let columns = schema::describe(target, &target.table)?.ok_or_else(|| {
            Error::Schema(format!(
                "{} has no table {} (the traces table: table=NAME)",
                target.display_name(),
                target.table
            ))
        })?;
        let traces = schema::check(
            target,
            &target.table,
            columns,
            schema::TRACE_COLUMNS,
            "SpanAttributes",
        )?;
        let logs = match schema::describe(target, &target.logs_table)? {
            Some(columns) => Some(schema::check(
                target,
                &target.logs_table,
                columns,
                schema::LOG_COLUMNS,
                "LogAttributes",
            )?),
            None => None,
        };
        let trace_lookup = target.trace_id.is_some() && schema::exists(target, &lookup_table(&target.table))?;
        Ok(Self {
            traces,
            logs,
            trace_lookup,
        })
    }

    fn table_name<'a>(&self, target: &'a Target, signal: Signal) -> &'a str {
        match signal {
            Signal::Logs => &target.logs_table,
            _ => &target.table,
        }
    }

    /// Starts the query for `signal` from `cursor`; `None` for logs without a logs table.
    pub fn rows(
        &self,
        target: &Target,
        signal: Signal,
        cursor: query::Cursor,
    ) -> Result<Option<Rows>, Error> {
        let (sql, signal) = match (signal, &self.logs) {
            (Signal::Logs, Some(logs)) => (query::logs(target, logs, cursor), Signal::Logs),
            (Signal::Logs, None) => return Ok(None),
            _ => {
                let lookup = self.trace_lookup.then(|| lookup_table(&target.table));
                (
                    query::spans(target, &self.traces, cursor, lookup.as_deref()),
                    Signal::Traces,
                )
            }
        };
        let lines = http::query(target, &sql)?;
        Ok(Some(Rows {
            lines,
            line: Vec::new(),
            batch: match signal {
                Signal::Logs => Pending::Logs(rows::Batch::default()),
                _ => Pending::Spans(rows::Batch::default()),
            },
        }))
    }
}

enum Pending {
    Spans(rows::Batch<Span>),
    Logs(rows::Batch<LogRecord>),
}

/// A running query's rows, a batch at a time.
pub struct Rows {
    lines: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    batch: Pending,
}

impl Rows {
    /// The next request of up to [`BATCH_ROWS`] rows, `None` at the end. A row that is not one
    /// (ClickHouse reports an error met mid-stream as text in the body) is an error with its
    /// message in one line.
    pub fn next_request(&mut self) -> std::io::Result<Option<Message>> {
        loop {
            self.line.clear();
            let n = self.lines.read_until(b'\n', &mut self.line)?;
            if n > 0 && !self.line.iter().all(u8::is_ascii_whitespace) {
                let bad = || std::io::Error::other(row_error(&self.line));
                match &mut self.batch {
                    Pending::Spans(b) => b.add(serde_json::from_slice(&self.line).map_err(|_| bad())?),
                    Pending::Logs(b) => b.add(serde_json::from_slice(&self.line).map_err(|_| bad())?),
                }
            }
            let len = match &self.batch {
                Pending::Spans(b) => b.len,
                Pending::Logs(b) => b.len,
            };
            if len >= BATCH_ROWS || (n == 0 && len > 0) {
                return Ok(Some(match &mut self.batch {
                    Pending::Spans(b) => Message::Traces(b.take()),
                    Pending::Logs(b) => Message::Logs(b.take()),
                }));
            }
            if n == 0 {
                return Ok(None);
            }
        }
    }
}

/// The message for a line that is no row: ClickHouse's exception text, or the line itself.
fn row_error(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = http::one_line(&text);
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(serde_json::Value::String(e)) = o.get("exception")
    {
        return format!("ClickHouse: {}", http::one_line(e));
    }
    if text.starts_with("Code:") || text.contains("DB::Exception") {
        return format!("ClickHouse: {text}");
    }
    let shown: String = text.chars().take(200).collect();
    format!("ClickHouse answered a line that is no row of the expected columns: {shown}")
}

/// [`Rows`] as the bytes of a Collector `file` exporter protobuf capture: each request preceded
/// by its length as 4 big-endian bytes.
struct Frames {
    rows: Rows,
    frame: Vec<u8>,
    pos: usize,
}

impl Read for Frames {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.frame.len() {
            let Some(message) = self.rows.next_request()? else {
                return Ok(0);
            };
            self.frame.clear();
            let len = match &message {
                Message::Traces(r) => r.encoded_len(),
                Message::Logs(r) => r.encoded_len(),
                _ => 0,
            };
            self.frame.extend_from_slice(&(len as u32).to_be_bytes());
            let encoded = match &message {
                Message::Traces(r) => r.encode(&mut self.frame),
                Message::Logs(r) => r.encode(&mut self.frame),
                _ => Ok(()),
            };
            encoded.map_err(std::io::Error::other)?;
            self.pos = 0;
        }
        let n = buf.len().min(self.frame.len() - self.pos);
        buf[..n].copy_from_slice(&self.frame[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
