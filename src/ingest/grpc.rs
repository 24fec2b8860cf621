//! OTLP/gRPC receiver (tonic): TraceService, LogsService and MetricsService with gzip and zstd
//! request compression, bearer auth, and the error codes OTLP exporters act on.

use super::counters::Outcome;
use super::handoff::Pipeline;
use super::{Accepted, OVERLOADED_MESSAGE, Overloaded, auth};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
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

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let result = super::export_traces(&self.pipeline, request.into_inner());
        self.answer(result, |a| ExportTraceServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: a.rejected.count as i64,
                error_message: a.rejected.message.unwrap_or_default(),
            }),
        })
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let result = super::export_logs(&self.pipeline, request.into_inner());
        self.answer(result, |a| ExportLogsServiceResponse {
            partial_success: (a.rejected.count > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: a.rejected.count as i64,
                error_message: a.rejected.message.unwrap_or_default(),
            }),
        })
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let result = super::export_metrics(&self.pipeline, request.get_ref());
        self.answer(result, |_| ExportMetricsServiceResponse {
            partial_success: None,
        })
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

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth_token: Option<String>,
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
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(move |r| {
            map_decode_status(&map_pipeline, r)
        }))
        .layer(tonic::service::InterceptorLayer::new(check_auth))
        .add_service(
            TraceServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(max_request_bytes),
        )
        .add_service(
            LogsServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(max_request_bytes),
        )
        .add_service(
            MetricsServiceServer::new(receiver)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(max_request_bytes),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
