//! OTLP/HTTP receiver (axum): POST /v1/traces, /v1/logs, /v1/metrics with protobuf or JSON
//! bodies, optionally gzip/zstd/deflate compressed. Answers follow the OTLP/HTTP spec: the
//! Export*Response in the request's encoding, a google.rpc.Status body on errors, Retry-After
//! when overloaded.

use super::bound::{self, OverBudget, Reservation, Signal};
use super::conn::{self, Activity, Admitted, ConnectionLimits, Gate};
use super::counters::Outcome;
use super::handoff::Pipeline;
use super::otlp_json::FromJson;
use super::{Accepted, FastPath, OVERLOADED_MESSAGE, Overloaded, auth};
use crate::forward::{Encoding, Payload};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// google.rpc.Status, the error body OTLP/HTTP prescribes (details omitted).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC status codes used in Status bodies.
mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

#[derive(Clone)]
struct HttpState {
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth_token: Option<Arc<str>>,
    /// A body must arrive within this (the idle timeout): a request in flight keeps its
    /// connection from the watchdog, so a body sent a byte a minute would hold it for ever.
    body_timeout: std::time::Duration,
}

/// A refused request: its HTTP status, the gRPC code for the Status body, a one-line message.
struct Refusal {
    outcome: Outcome,
    status: StatusCode,
    code: i32,
    message: String,
}

impl Refusal {
    fn new(outcome: Outcome, status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self {
            outcome,
            status,
            code,
            message: message.into(),
        }
    }

    fn into_response(self, pipeline: &Pipeline, encoding: Encoding) -> Response {
        pipeline.counters.requests.record(self.outcome);
        let rpc = RpcStatus {
            code: self.code,
            message: self.message,
        };
        let body = match encoding {
            Encoding::Protobuf => rpc.encode_to_vec(),
            Encoding::Json => serde_json::json!({"code": rpc.code, "message": rpc.message})
                .to_string()
                .into_bytes(),
        };
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, encoding.content_type())],
            body,
        )
            .into_response();
        match self.outcome {
            Outcome::Overloaded => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Outcome::Unauthorized => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        resp
    }
}

fn media_type(headers: &HeaderMap) -> Option<Encoding> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
        "application/json" => Some(Encoding::Json),
        _ => None,
    }
}

/// Reads the body, refusing past `limit` bytes on the wire.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            Outcome::TooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            code::RESOURCE_EXHAUSTED,
            format!("request body exceeds the {limit}-byte limit"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(Refusal::new(
            Outcome::BadRequest,
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            format!("could not read request body: {e}"),
        )),
    }
}

/// Undoes Content-Encoding, never inflating past `limit` bytes (a zip bomb gets 413).
fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let reader: Box<dyn Read + '_> = match encoding.as_deref() {
        None | Some("") | Some("identity") => return Ok(body),
        Some("gzip") | Some("x-gzip") => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        Some("zstd") => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(d) => Box::new(d),
            Err(e) => return Err(corrupt("zstd", e)),
        },
        Some(other) => {
            return Err(Refusal::new(
                Outcome::UnsupportedMediaType,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNIMPLEMENTED,
                format!("unsupported Content-Encoding {other:?} (use gzip, zstd, deflate or none)"),
            ));
        }
    };
    let mut out = Vec::with_capacity((body.len() * 4).min(limit));
    match reader.take(limit as u64 + 1).read_to_end(&mut out) {
        Ok(_) if out.len() > limit => Err(Refusal::new(
            Outcome::TooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            code::RESOURCE_EXHAUSTED,
            format!("decompressed body exceeds the {limit}-byte limit"),
        )),
        Ok(_) => Ok(Bytes::from(out)),
        Err(e) => Err(corrupt(encoding.as_deref().unwrap_or(""), e)),
    }
}

fn corrupt(encoding: &str, e: std::io::Error) -> Refusal {
    Refusal::new(
        Outcome::BadRequest,
        StatusCode::BAD_REQUEST,
        code::INVALID_ARGUMENT,
        format!("body is not valid {encoding} data: {e}"),
    )
}

/// Reserves what decoding the request takes in the decode budget: the request is walked first
/// and the estimate reserved; the reservation is held until the request is handed over.
fn reserve(
    pipeline: &Pipeline,
    signal: Signal,
    encoding: Encoding,
    body: &[u8],
) -> Result<Reservation, Refusal> {
    let estimate = match encoding {
        Encoding::Protobuf => {
            bound::protobuf_estimate(signal, body).map_err(|e| format!("invalid OTLP protobuf: {e}"))
        }
        Encoding::Json => bound::json_estimate(body).map_err(|e| format!("invalid OTLP/JSON: {e}")),
    };
    let estimate = estimate.map_err(|m| {
        Refusal::new(
            Outcome::BadRequest,
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            m,
        )
    })?;
    pipeline.decode_budget.reserve(estimate).map_err(|e| {
        bound::log_refusal("HTTP", &e);
        match e {
            OverBudget::TooLarge { .. } => Refusal::new(
                Outcome::TooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                code::RESOURCE_EXHAUSTED,
                e.to_string(),
            ),
            OverBudget::Busy { .. } => Refusal::new(
                Outcome::Overloaded,
                StatusCode::TOO_MANY_REQUESTS,
                code::UNAVAILABLE,
                e.to_string(),
            ),
        }
    })
}

/// Decodes a request (within a reservation taken by [`reserve`]).
fn decode<T: Message + Default + FromJson>(encoding: Encoding, body: &[u8]) -> Result<T, Refusal> {
    let result = match encoding {
        Encoding::Protobuf => T::decode(body).map_err(|e| format!("invalid OTLP protobuf: {e}")),
        Encoding::Json => T::from_json(body).map_err(|e| format!("invalid OTLP/JSON: {e}")),
    };
    result.map_err(|m| {
        Refusal::new(
            Outcome::BadRequest,
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            m,
        )
    })
}

/// A received request: exported already by the fast path, or decoded with (for `--forward`)
/// the request as it arrived.
enum Got<T> {
    Exported(Result<Accepted, Overloaded>),
    Decoded(T, Option<Payload>),
}

/// What [`receive`] hands the signal's handler: the request (or its export), the encoding to
/// answer in, and the part of the decode budget it holds.
type Received<T> = (Got<T>, Encoding, Reservation);

/// The signal-independent part of handling a POST: auth, media type, size, decompression and
/// decoding (or, for protobuf with a `fast` path, exporting).
async fn receive<T>(
    state: &HttpState,
    signal: Signal,
    headers: &HeaderMap,
    body: Body,
    fast: Option<FastPath>,
) -> Result<Received<T>, Response>
where
    T: Message + Default + FromJson,
{
    state.pipeline.counters.requests.http.fetch_add(1, Relaxed);
    let encoding = media_type(headers);
    let reply_in = encoding.unwrap_or(Encoding::Json);
    if let Some(token) = &state.auth_token {
        let header = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        if !auth::bearer_matches(header, token) {
            let r = Refusal::new(
                Outcome::Unauthorized,
                StatusCode::UNAUTHORIZED,
                code::UNAUTHENTICATED,
                "missing or wrong bearer token",
            );
            return Err(r.into_response(&state.pipeline, reply_in));
        }
    }
    let Some(encoding) = encoding else {
        let got = headers.get(header::CONTENT_TYPE).map_or("none".to_string(), |v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        });
        let r = Refusal::new(
            Outcome::UnsupportedMediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNIMPLEMENTED,
            format!("unsupported Content-Type {got:?} (use application/x-protobuf or application/json)"),
        );
        return Err(r.into_response(&state.pipeline, reply_in));
    };
    let decoded = async {
        let read = read_body(body, headers, state.max_request_bytes);
        let raw = tokio::time::timeout(state.body_timeout, read)
            .await
            .map_err(|_| {
                Refusal::new(
                    Outcome::BadRequest,
                    StatusCode::REQUEST_TIMEOUT,
                    code::INVALID_ARGUMENT,
                    format!("request body not received within {:?}", state.body_timeout),
                )
            })??;
        let plain = decompress(headers, raw, state.max_request_bytes)?;
        let fast = fast.filter(|_| encoding == Encoding::Protobuf);
        // A protobuf request its fast path reads is reserved for by a first guess (the read
        // counts as it goes); anything else is walked first.
        let guess = fast.and_then(|_| state.pipeline.decode_budget.reserve_guess(plain.len()));
        let exact = guess.is_none();
        let mut reservation = match guess {
            Some(r) => r,
            None => reserve(&state.pipeline, signal, encoding, &plain)?,
        };
        let mut forward = state.pipeline.forwarder().map(|_| Payload {
            signal: signal.into(),
            encoding,
            bytes: plain.clone(),
        });
        if let Some(fast) = fast {
            let exported = super::export_protobuf_within(
                &state.pipeline,
                fast,
                &plain,
                &mut forward,
                &mut reservation,
                exact,
                || reserve(&state.pipeline, signal, encoding, &plain),
            )?;
            if let Some(result) = exported {
                return Ok((Got::Exported(result), reservation));
            }
        }
        let req = decode::<T>(encoding, &plain)?;
        Ok::<_, Refusal>((Got::Decoded(req, forward), reservation))
    }
    .await;
    match decoded {
        Ok((got, reservation)) => Ok((got, encoding, reservation)),
        Err(r) => Err(r.into_response(&state.pipeline, encoding)),
    }
}

/// Answers an export that reached the pipeline.
fn respond<R: Message + 'static>(
    pipeline: &Pipeline,
    encoding: Encoding,
    result: Result<Accepted, Overloaded>,
    proto: impl FnOnce(&Accepted) -> R,
    rejected_field: &str,
) -> Response {
    let accepted = match result {
        Ok(a) => a,
        Err(Overloaded) => {
            let r = Refusal::new(
                Outcome::Overloaded,
                StatusCode::TOO_MANY_REQUESTS,
                code::UNAVAILABLE,
                OVERLOADED_MESSAGE,
            );
            return r.into_response(pipeline, encoding);
        }
    };
    pipeline.counters.requests.record(accepted.outcome());
    let body = match encoding {
        Encoding::Protobuf => proto(&accepted).encode_to_vec(),
        // Written by hand: OTLP/JSON wants int64 as a string, which the generated serde
        // impls of the response types do not do.
        Encoding::Json => {
            let value = if accepted.rejected.count > 0 {
                serde_json::json!({"partialSuccess": {
                    rejected_field: accepted.rejected.count.to_string(),
                    "errorMessage": accepted.rejected.message.clone().unwrap_or_default(),
                }})
            } else {
                serde_json::json!({})
            };
            value.to_string().into_bytes()
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response()
}

async fn traces(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let fast: FastPath = super::export_traces_protobuf;
    let (got, enc, _reserved) = match receive::<ExportTraceServiceRequest>(
        &state,
        Signal::Traces,
        &headers,
        body,
        Some(fast),
    )
    .await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let result = match got {
        Got::Exported(result) => result,
        Got::Decoded(req, raw) => super::export_traces_received(&state.pipeline, req, raw),
    };
    respond(
        &state.pipeline,
        enc,
        result,
        |a| ExportTraceServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: a.rejected.count as i64,
                error_message: a.rejected.message.clone().unwrap_or_default(),
            }),
        },
        "rejectedSpans",
    )
}

async fn logs(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let fast: FastPath = super::export_logs_protobuf;
    let (got, enc, _reserved) =
        match receive::<ExportLogsServiceRequest>(&state, Signal::Logs, &headers, body, Some(fast)).await {
            Ok(r) => r,
            Err(resp) => return resp,
        };
    let result = match got {
        Got::Exported(result) => result,
        Got::Decoded(req, raw) => super::export_logs_received(&state.pipeline, req, raw),
    };
    respond(
        &state.pipeline,
        enc,
        result,
        |a| ExportLogsServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: a.rejected.count as i64,
                error_message: a.rejected.message.clone().unwrap_or_default(),
            }),
        },
        "rejectedLogRecords",
    )
}

async fn metrics(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let (got, enc, _reserved) =
        match receive::<ExportMetricsServiceRequest>(&state, Signal::Metrics, &headers, body, None).await {
            Ok(r) => r,
            Err(resp) => return resp,
        };
    // No fast path for metrics: always decoded.
    let result = match got {
        Got::Exported(result) => result,
        Got::Decoded(req, raw) => super::export_metrics_received(&state.pipeline, &req, raw),
    };
    respond(
        &state.pipeline,
        enc,
        result,
        |_| ExportMetricsServiceResponse {
            partial_success: None,
        },
        "rejectedDataPoints",
    )
}

async fn not_found(State(state): State<HttpState>) -> Response {
    state.pipeline.counters.requests.http.fetch_add(1, Relaxed);
    let r = Refusal::new(
        Outcome::NotFound,
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "not found: OTLP/HTTP paths are /v1/traces, /v1/logs and /v1/metrics",
    );
    r.into_response(&state.pipeline, Encoding::Json)
}

async fn method_not_allowed(State(state): State<HttpState>) -> Response {
    state.pipeline.counters.requests.http.fetch_add(1, Relaxed);
    let r = Refusal::new(
        Outcome::NotFound,
        StatusCode::METHOD_NOT_ALLOWED,
        code::UNIMPLEMENTED,
        "method not allowed: OTLP/HTTP exports use POST",
    );
    let mut resp = r.into_response(&state.pipeline, Encoding::Json);
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

pub fn router(
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth_token: Option<String>,
    body_timeout: std::time::Duration,
) -> Router {
    let state = HttpState {
        pipeline,
        max_request_bytes,
        auth_token: auth_token.map(Arc::from),
        body_timeout,
    };
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves OTLP/HTTP on `listener` until `shutdown` resolves, then finishes in-flight requests.
/// Connections are bounded and timed out as [`conn`] describes.
pub async fn serve(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth_token: Option<String>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(
        pipeline.clone(),
        max_request_bytes,
        auth_token,
        limits.idle_timeout,
    );
    let gate = Gate::new("HTTP", limits, pipeline.clone());
    let mut incoming = gate.accept(listener);
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            admitted = incoming.recv() => match admitted {
                Some(admitted) => {
                    let conn = serve_connection(admitted, router.clone(), limits, closing.clone(), pipeline.clone());
                    connections.spawn(conn);
                }
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(incoming);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One connection, HTTP/1.1 or HTTP/2, with a watchdog that drops it once it has waited too
/// long for a request (it has none in flight then, so nothing is cut off).
async fn serve_connection(
    admitted: Admitted,
    router: Router,
    limits: ConnectionLimits,
    mut closing: tokio::sync::watch::Receiver<bool>,
    pipeline: Arc<Pipeline>,
) {
    let (stream, _permit) = admitted.into_parts();
    let activity = Activity::new();
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let in_flight = requests.request();
        let call = router.clone().oneshot(req.map(Body::new));
        async move {
            let response = call.await;
            drop(in_flight);
            response
        }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let mut watch = tokio::time::interval(conn::watch_interval(&limits));
    let mut closed = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = watch.tick() => {
                if activity.expired(&limits) {
                    pipeline.counters.requests.connections_timed_out.fetch_add(1, Relaxed);
                    return;
                }
            }
            _ = closing.wait_for(|c| *c), if !closed => {
                closed = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
