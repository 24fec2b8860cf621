//! ClickHouse as a source: the OpenTelemetry Collector `clickhouseexporter`'s tables
//! (`otel_traces`, `otel_logs`) read over ClickHouse's HTTP interface and turned back into OTLP
//! export requests. A `clickhouse://` URL is accepted wherever a capture file is: [`open`] gives
//! one stream per table in the capture reader's length-delimited protobuf form, so `report`,
//! `replay`, `check`, `dataset`, `diff` and `--baseline` read it as they read a Collector
//! `file` exporter capture. [`tail`] polls for new rows for the live monitor.
//!
//! Each stream is one query, read as it arrives ([`http`]) and converted a batch of rows at a
//! time ([`rows`]): memory stays flat however many rows the range holds.

pub mod error;
pub mod http;
pub mod query;
pub mod rows;
pub mod schema;
pub mod sql;
pub mod tail;
pub mod tls;
pub mod url;

use crate::ingest::capture::{Message, Signal};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::io::{BufRead, Read};

pub use error::Error;
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
        let body = http::query(target, &sql)?;
        Ok(Some(Rows {
            body,
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
    body: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    batch: Pending,
}

impl Rows {
    /// The next request of up to [`BATCH_ROWS`] rows, `None` at the end. A line that is no row
    /// (ClickHouse reports an error met mid-stream in the body, see [`row_error`]) is an error
    /// with its message in one line, and the rows of the batch it interrupted are not returned.
    pub fn next_request(&mut self) -> std::io::Result<Option<Message>> {
        loop {
            let more = self.next_row().map_err(std::io::Error::other)?;
            let len = match &self.batch {
                Pending::Spans(b) => b.len,
                Pending::Logs(b) => b.len,
            };
            if len >= BATCH_ROWS || (!more && len > 0) {
                return Ok(Some(match &mut self.batch {
                    Pending::Spans(b) => Message::Traces(b.take()),
                    Pending::Logs(b) => Message::Logs(b.take()),
                }));
            }
            if !more {
                return Ok(None);
            }
        }
    }

    /// Adds the next row to the batch; false at the end of the answer.
    fn next_row(&mut self) -> Result<bool, String> {
        self.line.clear();
        let n = self
            .body
            .read_until(b'\n', &mut self.line)
            .map_err(|e| e.to_string())?;
        if n > 0 && !self.line.iter().all(u8::is_ascii_whitespace) {
            let added = match &mut self.batch {
                Pending::Spans(b) => serde_json::from_slice(&self.line).map(|row| b.add(row)),
                Pending::Logs(b) => serde_json::from_slice(&self.line).map(|row| b.add(row)),
            };
            if added.is_err() {
                let shown: String = String::from_utf8_lossy(&self.line).chars().take(200).collect();
                let why = format!(
                    "a line that is no row of the expected columns: {}",
                    http::one_line(&shown)
                );
                return Err(row_error(&why, &self.line, &mut self.body));
            }
        }
        Ok(n > 0)
    }
}

/// How much of the body after a line that is no row is read for ClickHouse's message.
const MAX_ERROR_TAIL: u64 = 64 * 1024;

/// The message for `bad`, the bytes of what should have been a row, with what follows them in
/// the body. ClickHouse reports an error met after the answer started (HTTP 200 already sent)
/// in the body itself: framed by `__exception__` lines (25.11 and later: the marker, a tag, the
/// message, its length and the tag, the marker), as a row `{"exception": "..."}` (JSON formats
/// with `http_write_exception_in_output_format`), or as bare `Code: NNN. DB::Exception: ...`
/// text (older servers), possibly right after a cut row. Without any of these, `why` the bytes
/// are no row.
fn row_error(why: &str, bad: &[u8], rest: &mut dyn Read) -> String {
    let mut body = bad.to_vec();
    let _ = rest.take(MAX_ERROR_TAIL).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(bad)
        && let Some(serde_json::Value::String(e)) = o.get("exception")
    {
        return format!("ClickHouse: {}", http::one_line(e));
    }
    const MARKER: &str = "__exception__";
    let framed = text.find(MARKER).map(|at| &text[at + MARKER.len()..]);
    let search = framed.unwrap_or(&text);
    if let Some(at) = search.find("Code: ") {
        let mut message = &search[at..];
        if framed.is_some() {
            message = message.split(MARKER).next().unwrap_or(message).trim_end();
            // The `LENGTH TAG` line before the closing marker.
            if let Some((before, last)) = message.rsplit_once('\n')
                && let Some((len, tag)) = last.trim().split_once(' ')
                && len.bytes().all(|b| b.is_ascii_digit())
                && !tag.contains(' ')
            {
                message = before;
            }
        }
        return format!("ClickHouse: {}", http::one_line(message));
    }
    format!("ClickHouse answered {why}")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(body: &str) -> String {
        let (line, rest) = body.split_once('\n').map_or((body, ""), |(l, r)| (l, r));
        row_error("no row", line.as_bytes(), &mut rest.as_bytes())
    }

    #[test]
    fn mid_stream_errors_in_every_form_give_clickhouses_message() {
        let message = "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 9.31 GiB. (MEMORY_LIMIT_EXCEEDED)";
        let expected = format!("ClickHouse: {message}");
        // 25.11 and later: framed, with a tag and the message's length.
        let framed = format!(
            "__exception__\r\nb2f1a3c4d5e6f708\r\n{message}\n{} b2f1a3c4d5e6f708\r\n__exception__\r\n",
            message.len()
        );
        assert_eq!(error_of(&framed), expected);
        // A JSON format writing the exception as a row.
        let row = serde_json::json!({ "exception": message }).to_string();
        assert_eq!(error_of(&row), expected);
        // Older servers: bare text, also right after a row cut short.
        assert_eq!(error_of(&format!("{message}\n")), expected);
        assert_eq!(error_of(&format!("{{\"ts\":1,\"tra{message}\n")), expected);
        // A multi-line message is one line.
        assert_eq!(
            error_of("Code: 62. DB::Exception: Syntax error:\n  at line 2\n"),
            "ClickHouse: Code: 62. DB::Exception: Syntax error: at line 2"
        );
        assert_eq!(error_of("{\"unexpected\": true}"), "ClickHouse answered no row");
    }
}
