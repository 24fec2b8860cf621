//! Sending one batch to one upstream: gRPC through tonic's generic client with a codec that
//! writes the protobuf bytes as they are (no decode and re-encode), or OTLP/HTTP through
//! hyper's pooled client. Both gzip the body unless the target says `compression=none`.

use super::queue::{Encoding, Payload};
use super::retry::{self, Answer};
use super::target::{Protocol, Target};
use crate::ingest::capture::Signal;
use bytes::{Buf, BufMut, Bytes};
use http_body_util::{BodyExt, Full, Limited};
use prost::Message;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// One export may take this long before it counts as failed and is retried.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// What is read of an error answer's body (for the log line).
const MAX_ERROR_BODY: usize = 64 * 1024;

type HttpClient =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub enum Client {
    Grpc(Channel),
    // Boxed: the pooled client is large, and there is one per target.
    Http(Box<HttpClient>),
}

impl Client {
    pub fn new(target: &Target) -> Result<Self, String> {
        match target.protocol {
            Protocol::Grpc => {
                let endpoint =
                    tonic::transport::Endpoint::from_shared(format!("http://{}", target.authority))
                        .map_err(|e| format!("{}: {e}", target.url))?
                        .connect_timeout(CONNECT_TIMEOUT)
                        .timeout(REQUEST_TIMEOUT);
                // Lazy: an upstream that is down at start is retried like one that goes away.
                Ok(Self::Grpc(endpoint.connect_lazy()))
            }
            Protocol::Http => {
                let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
                connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
                connector.set_nodelay(true);
                let client =
                    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                        .build(connector);
                Ok(Self::Http(Box::new(client)))
            }
        }
    }

    /// Sends `body` (a batch as [`body_for`] built it) once and classifies the answer.
    pub async fn send(&self, target: &Target, headers: &http::HeaderMap, batch: &Batch) -> Answer {
        let sent = match self {
            Self::Grpc(channel) => send_grpc(channel.clone(), target, headers, batch),
            Self::Http(client) => return timed(send_http(client, target, headers, batch)).await,
        };
        timed(sent).await
    }
}

async fn timed(f: impl Future<Output = Answer>) -> Answer {
    tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), f)
        .await
        .unwrap_or_else(|_| Answer::Retry {
            after: None,
            reason: format!("no answer within {REQUEST_TIMEOUT:?}"),
        })
}

/// A batch ready to send: the signal, how the body is encoded, and the body (uncompressed).
#[derive(Clone, Debug)]
pub struct Batch {
    pub signal: Signal,
    pub encoding: Encoding,
    pub body: Bytes,
    /// Requests it holds.
    pub requests: usize,
}

/// The body for `protocol`: protobuf requests concatenated (see [`Payload`]); a JSON request
/// alone, as it arrived for OTLP/HTTP and re-encoded as protobuf for gRPC (which has no JSON).
pub fn body_for(protocol: Protocol, batch: &[Arc<Payload>]) -> Result<Batch, String> {
    let first = batch.first().ok_or("empty batch")?;
    let (encoding, body) = match (first.encoding, protocol) {
        (Encoding::Json, Protocol::Http) => (Encoding::Json, first.bytes.clone()),
        _ => {
            let mut out = Vec::with_capacity(batch.iter().map(|p| p.bytes.len()).sum());
            for p in batch {
                match p.encoding {
                    Encoding::Protobuf => out.extend_from_slice(&p.bytes),
                    Encoding::Json => out.extend_from_slice(&json_to_protobuf(p.signal, &p.bytes)?),
                }
            }
            (Encoding::Protobuf, Bytes::from(out))
        }
    };
    Ok(Batch {
        signal: first.signal,
        encoding,
        body,
        requests: batch.len(),
    })
}

/// Decoded as the HTTP receiver decodes OTLP/JSON (it was, to be accepted), then encoded.
fn json_to_protobuf(signal: Signal, json: &[u8]) -> Result<Vec<u8>, String> {
    use crate::ingest::otlp_json::FromJson;
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    fn encode<T: FromJson + Message>(json: &[u8]) -> Result<Vec<u8>, String> {
        T::from_json(json)
            .map(|req| req.encode_to_vec())
            .map_err(|e| format!("re-encoding OTLP/JSON for gRPC: {e}"))
    }
    match signal {
        Signal::Traces => encode::<trace::v1::ExportTraceServiceRequest>(json),
        Signal::Logs => encode::<logs::v1::ExportLogsServiceRequest>(json),
        Signal::Metrics => encode::<metrics::v1::ExportMetricsServiceRequest>(json),
    }
}

fn grpc_path(signal: Signal) -> http::uri::PathAndQuery {
    http::uri::PathAndQuery::from_static(match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    })
}

async fn send_grpc(channel: Channel, target: &Target, headers: &http::HeaderMap, batch: &Batch) -> Answer {
    let mut grpc = tonic::client::Grpc::new(channel);
    if target.gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    if let Err(e) = grpc.ready().await {
        return Answer::Retry {
            after: None,
            reason: format!("cannot connect: {e}"),
        };
    }
    let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    let request = tonic::Request::from_parts(metadata, Default::default(), batch.body.clone());
    match grpc.unary(request, grpc_path(batch.signal), RawCodec).await {
        Ok(_) => Answer::Taken,
        Err(status) => retry::grpc_answer(&status),
    }
}

fn gzip(body: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut e =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    e.write_all(body)?;
    e.finish()
}

async fn send_http(client: &HttpClient, target: &Target, headers: &http::HeaderMap, batch: &Batch) -> Answer {
    let signal = batch.signal.as_str();
    let uri = format!("http://{}{}/v1/{signal}", target.authority, target.base_path);
    let mut request =
        http::Request::post(uri).header(http::header::CONTENT_TYPE, batch.encoding.content_type());
    let body = if target.gzip {
        match gzip(&batch.body) {
            Ok(b) => {
                request = request.header(http::header::CONTENT_ENCODING, "gzip");
                Bytes::from(b)
            }
            Err(e) => return Answer::Failed(format!("compressing: {e}")),
        }
    } else {
        batch.body.clone()
    };
    if let Some(h) = request.headers_mut() {
        h.extend(headers.clone());
    }
    let request = match request.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return Answer::Failed(format!("building the request: {e}")),
    };
    let response = match client.request(request).await {
        Ok(r) => r,
        Err(e) => {
            return Answer::Retry {
                after: None,
                reason: format!("cannot connect: {e}"),
            };
        }
    };
    let status = response.status();
    let retry_after = response.headers().get(http::header::RETRY_AFTER).cloned();
    // The body is read whole (bounded) so the connection can be reused.
    let body = Limited::new(response.into_body(), MAX_ERROR_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let body: &[u8] = if status.is_success() { b"" } else { &body };
    retry::http_answer(status, retry_after.as_ref(), body)
}

/// Writes the request body's bytes as they are and ignores the response's content (an OTLP
/// export response only reports partial success, which the upstream also logs).
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct IgnoreDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = IgnoreDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        IgnoreDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for IgnoreDecoder {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        buf.advance(buf.remaining());
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

    fn request(name: &str) -> ExportTraceServiceRequest {
        let mut rs = ResourceSpans::default();
        rs.scope_spans.push(Default::default());
        rs.scope_spans[0].spans.push(Span {
            name: name.into(),
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            ..Default::default()
        });
        ExportTraceServiceRequest {
            resource_spans: vec![rs],
        }
    }

    fn payload(encoding: Encoding, bytes: Vec<u8>) -> Arc<Payload> {
        Arc::new(Payload {
            signal: Signal::Traces,
            encoding,
            bytes: Bytes::from(bytes),
        })
    }

    #[test]
    fn concatenated_requests_decode_as_their_union() {
        let (a, b) = (request("a"), request("b"));
        let batch = [
            payload(Encoding::Protobuf, a.encode_to_vec()),
            payload(Encoding::Protobuf, b.encode_to_vec()),
        ];
        let built = body_for(Protocol::Http, &batch).unwrap();
        let joined = ExportTraceServiceRequest::decode(built.body).unwrap();
        let names: Vec<_> = joined
            .resource_spans
            .iter()
            .map(|r| r.scope_spans[0].spans[0].name.as_str())
            .collect();
        assert_eq!((names, built.requests), (vec!["a", "b"], 2));
    }

    #[test]
    fn json_goes_to_http_as_json_and_to_grpc_as_protobuf() {
        let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","name":"j"}]}]}]}"#;
        let batch = [payload(Encoding::Json, json.to_vec())];
        let http = body_for(Protocol::Http, &batch).unwrap();
        assert_eq!((http.encoding, &http.body[..]), (Encoding::Json, &json[..]));
        let grpc = body_for(Protocol::Grpc, &batch).unwrap();
        assert_eq!(grpc.encoding, Encoding::Protobuf);
        assert_eq!(
            ExportTraceServiceRequest::decode(grpc.body).unwrap(),
            request("j")
        );
    }
}
