//! OTLP/gRPC receiver (tonic): TraceService, LogsService and MetricsService with gzip and zstd
//! request compression, bearer auth, and the error codes OTLP exporters act on. The services
//! are written here rather than taken from opentelemetry-proto's generated servers so that
//! requests decode through [`BoundedCodec`], within the decode budget.

use super::bound::{self, OverBudget, Reservation, Signal};
use super::conn::{ConnectionLimits, Gate, PrefaceDeadline};
use super::counters::Outcome;
use super::handoff::Pipeline;
use super::{Accepted, FastPath, OVERLOADED_MESSAGE, Overloaded, auth};
use crate::forward::{Encoding, Payload};
use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::tokio_stream::StreamExt;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

#[derive(Clone)]
pub struct GrpcReceiver {
    pipeline: Arc<Pipeline>,
}

impl GrpcReceiver {
    fn answer<T>(
        &self,
        result: Result<Accepted, Overloaded>,
        respond: impl FnOnce(Accepted) -> T,
    ) -> Result<Response<T>, Status> {
        let requests = &self.pipeline.counters.requests;
        match result {
            Ok(accepted) => {
                requests.record(accepted.outcome());
                Ok(Response::new(respond(accepted)))
            }
            Err(Overloaded) => {
                requests.record(Outcome::Overloaded);
                Err(Status::unavailable(OVERLOADED_MESSAGE))
            }
        }
    }
}

/// One OTLP export method: its path, its response and what it does with a request's bytes.
trait Method: Send + Sync + 'static {
    type Response: Message + Send + 'static;
    const NAME: &'static str;
    const SIGNAL: Signal;
    /// The export that reads the request's bytes itself, counting its decode memory as it
    /// goes (so the request is reserved for by a first guess, not walked first).
    const FAST: Option<FastPath> = None;
    fn export(receiver: &GrpcReceiver, request: Bounded) -> Result<Response<Self::Response>, Status>;
}

/// A request decoded by prost, or INVALID_ARGUMENT with prost's error.
fn decode<T: Message + Default>(bytes: Bytes) -> Result<T, Status> {
    T::decode(bytes).map_err(|e| Status::invalid_argument(format!("invalid OTLP protobuf: {e}")))
}

struct Traces;
struct Logs;
struct Metrics;

impl Method for Traces {
    type Response = ExportTraceServiceResponse;
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const SIGNAL: Signal = Signal::Traces;
    const FAST: Option<FastPath> = Some(super::export_traces_protobuf);

    fn export(r: &GrpcReceiver, mut b: Bounded) -> Result<Response<Self::Response>, Status> {
        // Strings borrowed from the request's bytes; prost for what that path leaves.
        let result = match b.export_fast::<Self>(&r.pipeline)? {
            Some(result) => result,
            None => super::export_traces_received(&r.pipeline, decode(b.request)?, b.raw),
        };
        r.answer(result, |a| ExportTraceServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: a.rejected.count as i64,
                error_message: a.rejected.message.unwrap_or_default(),
            }),
        })
    }
}

impl Method for Logs {
    type Response = ExportLogsServiceResponse;
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const SIGNAL: Signal = Signal::Logs;
    const FAST: Option<FastPath> = Some(super::export_logs_protobuf);

    fn export(r: &GrpcReceiver, mut b: Bounded) -> Result<Response<Self::Response>, Status> {
        let result = match b.export_fast::<Self>(&r.pipeline)? {
            Some(result) => result,
            None => super::export_logs_received(&r.pipeline, decode(b.request)?, b.raw),
        };
        r.answer(result, |a| ExportLogsServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: a.rejected.count as i64,
                error_message: a.rejected.message.unwrap_or_default(),
            }),
        })
    }
}

impl Method for Metrics {
    type Response = ExportMetricsServiceResponse;
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const SIGNAL: Signal = Signal::Metrics;

    fn export(r: &GrpcReceiver, b: Bounded) -> Result<Response<Self::Response>, Status> {
        let request: ExportMetricsServiceRequest = decode(b.request)?;
        let result = super::export_metrics_received(&r.pipeline, &request, b.raw);
        r.answer(result, |_| ExportMetricsServiceResponse {
            partial_success: None,
        })
    }
}

/// A request's bytes (decompressed) with the part of the decode budget its decoding holds
/// until it is handed over.
struct Bounded {
    request: Bytes,
    /// `--forward`: the request's bytes as they arrived (decompressed).
    raw: Option<Payload>,
    reservation: Reservation,
    /// Whether `reservation` is the walk's estimate, not [`bound::protobuf_guess`].
    exact: bool,
}

impl Bounded {
    /// The method's [`Method::FAST`] export within the reservation, or `None` to decode the
    /// request with prost (within the walk's estimate, reserved by then).
    fn export_fast<M: Method>(
        &mut self,
        pipeline: &Arc<Pipeline>,
    ) -> Result<Option<Result<Accepted, Overloaded>>, Status> {
        let Some(fast) = M::FAST else { return Ok(None) };
        super::export_protobuf_within(
            pipeline,
            fast,
            &self.request,
            &mut self.raw,
            &mut self.reservation,
            self.exact,
            || reserve_exact::<M>(pipeline, &self.request),
        )
    }
}

/// Walks the request and reserves the estimate, or refuses it: INVALID_ARGUMENT when it is not
/// protobuf, RESOURCE_EXHAUSTED when it could never fit, UNAVAILABLE when it does not fit now.
fn reserve_exact<M: Method>(pipeline: &Pipeline, bytes: &[u8]) -> Result<Reservation, Status> {
    let estimate = bound::protobuf_estimate(M::SIGNAL, bytes)
        .map_err(|e| Status::invalid_argument(format!("invalid OTLP protobuf: {e}")))?;
    pipeline.decode_budget.reserve(estimate).map_err(|e| {
        bound::log_refusal("gRPC", &e);
        match e {
            // Counted by map_decode_status, as tonic's own size refusals are.
            OverBudget::TooLarge { .. } => Status::resource_exhausted(e.to_string()),
            OverBudget::Busy { .. } => {
                pipeline.counters.requests.record(Outcome::Overloaded);
                Status::unavailable(e.to_string())
            }
        }
    })
}

/// A codec that reserves the request's decoding in the decode budget (see [`super::bound`])
/// before handing its bytes to the method, which decodes them: what the walk estimates, or for
/// a method that counts as it reads, a first guess the method replaces when it falls short.
struct BoundedCodec<M> {
    pipeline: Arc<Pipeline>,
    method: PhantomData<fn() -> M>,
}

impl<M: Method> Codec for BoundedCodec<M> {
    type Encode = M::Response;
    type Decode = Bounded;
    type Encoder = ResponseEncoder<M::Response>;
    type Decoder = BoundedDecoder<M>;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        BoundedDecoder {
            pipeline: self.pipeline.clone(),
            method: PhantomData,
        }
    }
}

struct ResponseEncoder<T>(PhantomData<fn(T)>);

impl<T: Message> Encoder for ResponseEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // EncodeBuf grows as needed, so encoding cannot run out of room.
        item.encode(buf)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

struct BoundedDecoder<M> {
    pipeline: Arc<Pipeline>,
    method: PhantomData<fn() -> M>,
}

impl<M: Method> Decoder for BoundedDecoder<M> {
    type Item = Bounded;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        // The frame is one contiguous buffer; taking it as Bytes does not copy.
        let bytes = buf.copy_to_bytes(buf.remaining());
        let guess = M::FAST.and_then(|_| self.pipeline.decode_budget.reserve_guess(bytes.len()));
        let (reservation, exact) = match guess {
            Some(r) => (r, false),
            None => (reserve_exact::<M>(&self.pipeline, &bytes)?, true),
        };
        // Bytes share the frame: keeping them for forwarding copies nothing.
        let raw = self.pipeline.forwarder().map(|_| Payload {
            signal: M::SIGNAL.into(),
            encoding: Encoding::Protobuf,
            bytes: bytes.clone(),
        });
        Ok(Some(Bounded {
            request: bytes,
            raw,
            reservation,
            exact,
        }))
    }
}

/// One export method served with [`BoundedCodec`], in place of the generated server.
struct OtlpService<M> {
    receiver: GrpcReceiver,
    max_request_bytes: usize,
    method: PhantomData<fn() -> M>,
}

impl<M> Clone for OtlpService<M> {
    fn clone(&self) -> Self {
        Self {
            receiver: self.receiver.clone(),
            max_request_bytes: self.max_request_bytes,
            method: PhantomData,
        }
    }
}

impl<M: Method> NamedService for OtlpService<M> {
    const NAME: &'static str = M::NAME;
}

struct Export<M>(GrpcReceiver, PhantomData<fn() -> M>);

impl<M: Method> UnaryService<Bounded> for Export<M> {
    type Response = M::Response;
    type Future = std::future::Ready<Result<Response<M::Response>, Status>>;

    fn call(&mut self, request: Request<Bounded>) -> Self::Future {
        // The reservation (dropped with the request) covered decoding and converting; the
        // hand-off accounts for the records from now on.
        let answer = M::export(&self.0, request.into_inner());
        std::future::ready(answer)
    }
}

impl<M: Method> tower::Service<http::Request<tonic::body::Body>> for OtlpService<M> {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let receiver = self.receiver.clone();
        let max = self.max_request_bytes;
        let path = req.uri().path();
        let export = path.strip_prefix('/').and_then(|p| p.strip_prefix(M::NAME)) == Some("/Export");
        Box::pin(async move {
            if !export {
                return Ok(Status::unimplemented("unknown method").into_http());
            }
            let codec = BoundedCodec::<M> {
                pipeline: receiver.pipeline.clone(),
                method: PhantomData,
            };
            let mut grpc = tonic::server::Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(max);
            Ok(grpc.unary(Export::<M>(receiver, PhantomData), req).await)
        })
    }
}

fn service<M: Method>(receiver: &GrpcReceiver, max_request_bytes: usize) -> OtlpService<M> {
    OtlpService {
        receiver: receiver.clone(),
        max_request_bytes,
        method: PhantomData,
    }
}

/// tonic reports a frame over the size limit as OUT_OF_RANGE and an undecodable message as
/// INTERNAL. Our handlers never produce either, so every such status is the client's request
/// at fault; exporters and the OTLP spec expect RESOURCE_EXHAUSTED and INVALID_ARGUMENT.
fn map_decode_status<B>(pipeline: &Pipeline, mut resp: http::Response<B>) -> http::Response<B> {
    let requests = &pipeline.counters.requests;
    requests.grpc.fetch_add(1, Relaxed);
    let status = resp.headers().get("grpc-status").map(|v| v.as_bytes().to_vec());
    let mapped: Option<&'static str> = match status.as_deref() {
        Some(b"11") | Some(b"8") => {
            requests.record(Outcome::TooLarge);
            Some("8")
        }
        Some(b"13") | Some(b"3") => {
            requests.record(Outcome::BadRequest);
            Some("3")
        }
        Some(b"12") => {
            // Unknown method or unsupported grpc-encoding.
            requests.record(Outcome::NotFound);
            None
        }
        _ => None,
    };
    if let Some(code) = mapped {
        resp.headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static(code));
    }
    resp
}

const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests one connection may have in flight: a client needs a few, a flood on one
/// connection must not take every decode.
const STREAMS_PER_CONNECTION: usize = 32;

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth_token: Option<String>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let receiver = GrpcReceiver {
        pipeline: pipeline.clone(),
    };
    let auth_pipeline = pipeline.clone();
    let check_auth = move |req: Request<()>| -> Result<Request<()>, Status> {
        let Some(token) = &auth_token else { return Ok(req) };
        let header = req.metadata().get("authorization").map(|v| v.as_bytes());
        if auth::bearer_matches(header, token) {
            Ok(req)
        } else {
            auth_pipeline.counters.requests.record(Outcome::Unauthorized);
            Err(Status::unauthenticated("missing or wrong bearer token"))
        }
    };
    let map_pipeline = pipeline.clone();
    let gate = Gate::new("gRPC", limits, pipeline.clone());
    let incoming = ReceiverStream::new(gate.accept(listener)).map(move |admitted| {
        Ok::<_, std::io::Error>(PrefaceDeadline::new(admitted, &limits, pipeline.clone()))
    });
    tonic::transport::Server::builder()
        // Dead peers are found by pings; a request (its body included) gets the idle timeout.
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .timeout(limits.idle_timeout)
        .concurrency_limit_per_connection(STREAMS_PER_CONNECTION)
        .max_concurrent_streams(Some(STREAMS_PER_CONNECTION as u32))
        .layer(tower::util::MapResponseLayer::new(move |r| {
            map_decode_status(&map_pipeline, r)
        }))
        .layer(tonic::service::InterceptorLayer::new(check_auth))
        .add_service(service::<Traces>(&receiver, max_request_bytes))
        .add_service(service::<Logs>(&receiver, max_request_bytes))
        .add_service(service::<Metrics>(&receiver, max_request_bytes))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
