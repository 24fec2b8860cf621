//! Sending OTLP to another receiver (another llmwatch or any collector): the demo's `--send`,
//! which also makes it the project's load generator. gRPC with tonic, or HTTP/protobuf with a
//! minimal HTTP/1.1 client (plain `http://` only: this talks to local collectors).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid endpoint {0:?}: expected http://HOST:PORT (gRPC) or http://HOST:PORT/v1/traces (HTTP)")]
    Url(String),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("{url} refused the export: {message}")]
    Refused { url: String, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

/// Splits `http://host:port/path` into (authority, path). Only plain http is supported.
fn split_url(url: &str) -> Result<(String, String), SendError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| SendError::Url(url.into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() || !authority.contains(':') {
        return Err(SendError::Url(url.into()));
    }
    Ok((authority.to_string(), path.trim_end_matches('/').to_string()))
}

/// gRPC unless the URL has an OTLP/HTTP path (`/v1/...`) or the OTLP/HTTP port 4318.
pub fn protocol_of(url: &str) -> Result<Protocol, SendError> {
    let (authority, path) = split_url(url)?;
    Ok(
        if path.contains("/v1/") || path.ends_with("/v1") || authority.ends_with(":4318") {
            Protocol::Http
        } else {
            Protocol::Grpc
        },
    )
}

pub enum Sender {
    Grpc {
        url: String,
        traces: Box<TraceServiceClient<Channel>>,
        logs: Box<LogsServiceClient<Channel>>,
        headers: Headers,
        metrics: Box<MetricsServiceClient<Channel>>,
    },
    Http {
        url: String,
        authority: String,
        base: String,
        headers: Headers,
    },
}

/// Extra request headers (gRPC metadata), e.g. `Authorization: Bearer ...` for a receiver
/// started with `--auth-token`; names and values free of CR and LF (see `cli::otel_env`).
pub type Headers = Vec<(String, String)>;

impl Sender {
    pub async fn connect(url: &str) -> Result<Self, SendError> {
        Self::connect_with(url, None, Vec::new()).await
    }

    /// Like `connect`, with the protocol given instead of told by the URL, and headers sent
    /// with every request.
    pub async fn connect_with(
        url: &str,
        protocol: Option<Protocol>,
        headers: Headers,
    ) -> Result<Self, SendError> {
        let (authority, path) = split_url(url)?;
        // Header lines are written as they are: a CR or LF would split the request.
        if let Some((name, _)) = headers
            .iter()
            .find(|(k, v)| k.is_empty() || k.chars().chain(v.chars()).any(char::is_control))
        {
            return Err(SendError::Url(format!(
                "{url}: header {name:?}: empty or holds a control character"
            )));
        }
        let protocol = match protocol {
            Some(p) => p,
            None => protocol_of(url)?,
        };
        match protocol {
            Protocol::Grpc => {
                let channel = tonic::transport::Endpoint::from_shared(format!("http://{authority}"))
                    .map_err(|e| SendError::Url(format!("{url}: {e}")))?
                    .connect()
                    .await
                    .map_err(|e| SendError::Connect {
                        url: url.into(),
                        message: e.to_string(),
                    })?;
                Ok(Self::Grpc {
                    url: url.into(),
                    traces: Box::new(TraceServiceClient::new(channel.clone())),
                    logs: Box::new(LogsServiceClient::new(channel.clone())),
                    metrics: Box::new(MetricsServiceClient::new(channel)),
                    headers,
                })
            }
            Protocol::Http => {
                // `/v1/traces` or `/v1/logs` given: send each signal to its sibling path.
                let base = path
                    .strip_suffix("/v1/traces")
                    .or_else(|| path.strip_suffix("/v1/logs"))
                    .or_else(|| path.strip_suffix("/v1"))
                    .unwrap_or(&path)
                    .to_string();
                Ok(Self::Http {
                    url: url.into(),
                    authority,
                    base,
                    headers,
                })
            }
        }
    }

    pub async fn send_traces(&mut self, req: ExportTraceServiceRequest) -> Result<(), SendError> {
        match self {
            Self::Grpc {
                url, traces, headers, ..
            } => {
                let req = with_metadata(req, headers, url)?;
                traces.export(req).await.map(|_| ()).map_err(refused(url))
            }
            Self::Http {
                url,
                authority,
                base,
                headers,
            } => {
                let path = format!("{base}/v1/traces");
                post(url, authority, &path, headers, &req.encode_to_vec()).await
            }
        }
    }

    pub async fn send_logs(&mut self, req: ExportLogsServiceRequest) -> Result<(), SendError> {
        match self {
            Self::Grpc {
                url, logs, headers, ..
            } => {
                let req = with_metadata(req, headers, url)?;
                logs.export(req).await.map(|_| ()).map_err(refused(url))
            }
            Self::Http {
                url,
                authority,
                base,
                headers,
            } => {
                let path = format!("{base}/v1/logs");
                post(url, authority, &path, headers, &req.encode_to_vec()).await
            }
        }
    }

    pub async fn send_metrics(&mut self, req: ExportMetricsServiceRequest) -> Result<(), SendError> {
        match self {
            Self::Grpc {
                url,
                metrics,
                headers,
                ..
            } => {
                let req = with_metadata(req, headers, url)?;
                metrics.export(req).await.map(|_| ()).map_err(refused(url))
            }
            Self::Http {
                url,
                authority,
                base,
                headers,
            } => {
                let path = format!("{base}/v1/metrics");
                post(url, authority, &path, headers, &req.encode_to_vec()).await
            }
        }
    }
}

/// A gRPC request carrying `headers` as metadata (names lowercased, as HTTP/2 wants them).
fn with_metadata<T>(message: T, headers: &Headers, url: &str) -> Result<tonic::Request<T>, SendError> {
    use tonic::metadata::{MetadataKey, MetadataValue};
    let mut req = tonic::Request::new(message);
    for (name, value) in headers {
        let bad = |what: &str| SendError::Url(format!("{url}: header {name:?}: {what}"));
        let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| bad("not a valid header name"))?;
        let value = MetadataValue::try_from(value.as_str()).map_err(|_| bad("not a valid header value"))?;
        req.metadata_mut().insert(key, value);
    }
    Ok(req)
}

fn refused(url: &str) -> impl FnOnce(tonic::Status) -> SendError + '_ {
    move |s| SendError::Refused {
        url: url.into(),
        message: s.to_string(),
    }
}

/// One HTTP/1.1 POST of a protobuf body on a fresh connection; success is any 2xx.
async fn post(
    url: &str,
    authority: &str,
    path: &str,
    headers: &Headers,
    body: &[u8],
) -> Result<(), SendError> {
    let connect_err = |e: std::io::Error| SendError::Connect {
        url: url.into(),
        message: e.to_string(),
    };
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(connect_err)?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(connect_err)?;
    stream.write_all(body).await.map_err(connect_err)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(connect_err)?;
    let status_line = response.split(|b| *b == b'\n').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line).trim().to_string();
    let ok = status_line
        .split(' ')
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if ok {
        Ok(())
    } else {
        Err(SendError::Refused {
            url: url.into(),
            message: status_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_follows_the_url() {
        assert_eq!(protocol_of("http://127.0.0.1:4317").unwrap(), Protocol::Grpc);
        assert_eq!(protocol_of("http://127.0.0.1:4318").unwrap(), Protocol::Http);
        assert_eq!(
            protocol_of("http://collector:9000/v1/traces").unwrap(),
            Protocol::Http
        );
        assert!(protocol_of("https://x:1").is_err());
        assert!(protocol_of("http://nohostport").is_err());
    }
}
