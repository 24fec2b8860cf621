//! ClickHouse's HTTP interface, blocking: a query is POSTed, its result read as a stream
//! (`enable_http_compression=1` with `Accept-Encoding: gzip`; never the whole result in memory).
//! Built on hyper's client connection (already a dependency of the receivers) driven by a
//! current-thread tokio runtime of its own, so callers are plain threads; over TLS
//! ([`super::tls`]) with `secure=true`.

use super::error::Error;
use super::tls;
use super::url::{Target, encode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an error answer is read for its message.
const MAX_ERROR_BYTES: u64 = 64 * 1024;

/// Runs `sql` (which ends in its `FORMAT`) and returns the answer's body, decompressed, as a
/// buffered stream. A non-200 answer is [`Error::Query`] with ClickHouse's message in one line.
pub fn query(target: &Target, sql: &str) -> Result<Box<dyn BufRead + Send>, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Connect(target.display_name(), e.to_string()))?;
    let response = rt.block_on(send(target, sql))?;
    let gzip = response
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let status = response.status();
    let code = response
        .headers()
        .get("x-clickhouse-exception-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw = BodyReader {
        rt,
        body: response.into_body(),
        chunk: Bytes::new(),
    };
    let body: Box<dyn Read + Send> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    if status != hyper::StatusCode::OK || code.is_some() {
        let mut text = String::new();
        let _ = body.take(MAX_ERROR_BYTES).read_to_string(&mut text);
        let message = one_line(&text);
        let message = if message.is_empty() {
            format!("HTTP {status}")
        } else {
            message
        };
        return Err(Error::Query(message));
    }
    Ok(Box::new(BufReader::with_capacity(256 * 1024, body)))
}

async fn send(target: &Target, sql: &str) -> Result<hyper::Response<Incoming>, Error> {
    let name = target.display_name();
    let connect_err = |e: &dyn std::fmt::Display| Error::Connect(name.clone(), e.to_string());
    let addr = (target.host.as_str(), target.port);
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| connect_err(&"connection timed out"))?
        .map_err(|e| connect_err(&e))?;
    let _ = stream.set_nodelay(true);
    if !target.secure {
        return request(stream, target, sql).await;
    }
    let config = tls::config(target.ca.as_deref()).map_err(|e| connect_err(&e))?;
    let server = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| connect_err(&format!("{:?} as a TLS server name: {e}", target.host)))?;
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(server, stream),
    )
    .await
    .map_err(|_| connect_err(&"TLS handshake timed out"))?
    .map_err(|e| connect_err(&tls::handshake_error(&e, target.ca.as_deref())))?;
    request(stream, target, sql).await
}

/// Sends the query over a connected stream, plain or TLS.
async fn request<S>(stream: S, target: &Target, sql: &str) -> Result<hyper::Response<Incoming>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let name = target.display_name();
    let connect_err = |e: &dyn std::fmt::Display| Error::Connect(name.clone(), e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| connect_err(&e))?;
    // Driven whenever the runtime runs, i.e. while the body is read.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let uri = format!(
        "/?database={}&enable_http_compression=1",
        encode(&target.database)
    );
    let mut request = hyper::Request::post(uri)
        .header(hyper::header::HOST, host)
        .header(hyper::header::ACCEPT_ENCODING, "gzip")
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if !target.user.is_empty() {
        request = request.header("X-ClickHouse-User", target.user.as_str());
    }
    if !target.password.is_empty() {
        request = request.header("X-ClickHouse-Key", target.password.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(sql.to_string())))
        .map_err(|e| connect_err(&e))?;
    sender.send_request(request).await.map_err(|e| connect_err(&e))
}

/// ClickHouse's error text on one line: whitespace runs (its messages carry newlines and stack
/// hints) become single spaces.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The response body as `Read`, one frame at a time.
struct BodyReader {
    rt: tokio::runtime::Runtime,
    body: Incoming,
    chunk: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rt.block_on(self.body.frame()) {
                None => return Ok(0),
                Some(Err(e)) => return Err(std::io::Error::other(format!("reading the answer: {e}"))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        bytes::Buf::advance(&mut self.chunk, n);
        Ok(n)
    }
}
