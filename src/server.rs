//! Starting and stopping the live receivers around one pipeline, and what they need
//! ([`ServerConfig`]).

use crate::config::{DEFAULT_MAX_MEMORY, DEFAULT_MAX_SPANS, HandoffLimits, StoreLimits, split_budget};
use crate::cost::CostTable;
use crate::forward::ForwardConfig;
use crate::ingest::conn::ConnectionLimits;
use crate::ingest::handoff::{ConverterPool, Pipeline};
use crate::ingest::record::Recorder;
use crate::ingest::{grpc, http};
use crate::model::{ConvertLimits, Converter};
use crate::semconv::SemconvConfig;
use crate::store::TraceStore;
use crate::summary::Summary;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything the live receivers need.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// gRPC listen address; `None` disables the gRPC receiver.
    pub grpc: Option<SocketAddr>,
    /// HTTP listen address; `None` disables the HTTP receiver.
    pub http: Option<SocketAddr>,
    pub store: StoreLimits,
    pub handoff: HandoffLimits,
    /// Largest request body accepted, compressed or not (413 / RESOURCE_EXHAUSTED past it).
    pub max_request_bytes: usize,
    /// Bearer token required on every request when set.
    pub auth_token: Option<String>,
    /// Ignore event times further than this many seconds ahead of the wall clock when building
    /// the timeline (live mode only).
    pub max_clock_skew_secs: Option<u64>,
    /// Cohort keys and evaluator thresholds.
    pub semconv: Arc<SemconvConfig>,
    /// Prices for model calls (bundled table plus the user's overrides).
    pub costs: Arc<CostTable>,
    /// `--record`: append everything accepted as OTLP/JSON lines.
    pub recorder: Option<Arc<Recorder>>,
    /// `--forward`: send everything accepted upstream.
    pub forward: Option<ForwardConfig>,
    /// Open connections per receiver, and how long one may wait for a request.
    pub connections: ConnectionLimits,
    /// `--source`: `clickhouse://` URLs tailed into the pipeline beside the receivers.
    pub sources: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let (store, handoff) = split_budget(DEFAULT_MAX_SPANS, DEFAULT_MAX_MEMORY);
        Self {
            grpc: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4318))),
            store,
            handoff,
            max_request_bytes: 16 * 1024 * 1024,
            auth_token: None,
            max_clock_skew_secs: Some(300),
            semconv: Arc::default(),
            costs: Arc::new(CostTable::bundled()),
            recorder: None,
            forward: None,
            connections: ConnectionLimits::default(),
            sources: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for OTLP/{protocol} on {addr}: {source}")]
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot forward: {0}")]
    Forward(String),
}

/// Live receivers and their pipeline. Dropping it without [`Running::stop`] aborts them.
pub struct Running {
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub pipeline: Arc<Pipeline>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The `--source` tails: told to stop, then joined, before the pipeline is drained.
    tails: Vec<std::thread::JoinHandle<()>>,
    tails_stop: Arc<std::sync::atomic::AtomicBool>,
}

/// How long stop waits for open connections to finish before cutting them.
const GRACE: Duration = Duration::from_secs(3);

async fn bind(protocol: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind {
        protocol,
        addr,
        source,
    })
}

fn signal(rx: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Binds the configured addresses and starts serving. Must run inside a tokio runtime.
pub async fn start(config: &ServerConfig) -> Result<Running, StartError> {
    let grpc_listener = match config.grpc {
        Some(addr) => Some(bind("gRPC", addr).await?),
        None => None,
    };
    let http_listener = match config.http {
        Some(addr) => Some(bind("HTTP", addr).await?),
        None => None,
    };
    let store = TraceStore::new(config.store);
    let (semconv, costs) = (config.semconv.clone(), config.costs.clone());
    let converters = ConverterPool::new(move || {
        Converter::new(ConvertLimits::default(), semconv.clone(), Some(costs.clone()))
    });
    let pipeline = Pipeline::start(store, converters, config.handoff, config.max_clock_skew_secs);
    pipeline.start_external(&config.semconv.external);
    if let Some(r) = &config.recorder {
        pipeline.set_recorder(r.clone());
    }
    if let Some(f) = &config.forward {
        let forwarder = Arc::new(crate::forward::Forwarder::new(f));
        forwarder.start().map_err(StartError::Forward)?;
        pipeline.set_forwarder(forwarder);
    }
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let running_addr = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
    let grpc_addr = running_addr(&grpc_listener);
    let http_addr = running_addr(&http_listener);

    if let Some(listener) = grpc_listener {
        let fut = grpc::serve(
            listener,
            pipeline.clone(),
            config.max_request_bytes,
            config.auth_token.clone(),
            config.connections,
            signal(&rx),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = fut.await {
                tracing_fallback("gRPC", &e);
            }
        }));
    }
    if let Some(listener) = http_listener {
        let fut = http::serve(
            listener,
            pipeline.clone(),
            config.max_request_bytes,
            config.auth_token.clone(),
            config.connections,
            signal(&rx),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = fut.await {
                tracing_fallback("HTTP", &e);
            }
        }));
    }
    let tails_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tails = config
        .sources
        .iter()
        .filter_map(|url| start_tail(url.clone(), &pipeline, &tails_stop))
        .collect();
    Ok(Running {
        grpc_addr,
        http_addr,
        pipeline,
        shutdown,
        tasks,
        tails,
        tails_stop,
    })
}

/// Tails a `clickhouse://` source on a thread of its own (its HTTP client blocks), offering
/// what it reads as a receiver would, waiting rather than dropping when the pipeline is full.
fn start_tail(
    url: String,
    pipeline: &Arc<Pipeline>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    use crate::ingest::capture::Message;
    use crate::source::clickhouse;
    let (pipeline, stop) = (pipeline.clone(), stop.clone());
    let spawned = std::thread::Builder::new()
        .name("llmwatch-source".into())
        .spawn(move || {
            let opened = clickhouse::target(&url)
                .and_then(|t| clickhouse::Tables::describe(&t).map(|tables| (t, tables)));
            let (target, tables) = match opened {
                Ok(o) => o,
                Err(e) => {
                    crate::log!("--source: {e}");
                    return;
                }
            };
            let options = clickhouse::tail::TailOptions::for_target(&target);
            clickhouse::tail::run(target, tables, options, &stop, |message| {
                let prepared = match message {
                    Message::Traces(req) => crate::ingest::prepare_traces(&pipeline, req),
                    Message::Logs(req) => crate::ingest::prepare_logs(&pipeline, req),
                    _ => return,
                };
                let _ = crate::ingest::offer_prepared(&pipeline, prepared, crate::ingest::WhenFull::Wait);
            });
        });
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            crate::log!("--source: cannot start a thread: {e}");
            None
        }
    }
}

/// A server task failing after start is rare (the listener was already bound); it is reported
/// once (on stderr, or in the log while the screen is open).
fn tracing_fallback(protocol: &str, e: &dyn std::fmt::Display) {
    crate::log!("OTLP/{protocol} receiver stopped: {e}");
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to a grace period), gives the
    /// forwarding queues their drain time, stores everything accepted, and returns the final
    /// summary.
    pub async fn stop(mut self) -> Summary {
        let _ = self.shutdown.send(true);
        self.tails_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let tails = std::mem::take(&mut self.tails);
        let _ = tokio::task::spawn_blocking(move || {
            for tail in tails {
                let _ = tail.join();
            }
        })
        .await;
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(GRACE, task).await.is_err() {
                abort.abort();
            }
        }
        if let Some(f) = self.pipeline.forwarder() {
            f.drain().await;
        }
        let pipeline = self.pipeline.clone();
        tokio::task::spawn_blocking(move || {
            pipeline.shutdown();
            Summary::collect(&pipeline)
        })
        .await
        .expect("summary task")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.tails_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
        if let Some(f) = self.pipeline.forwarder() {
            f.abort();
        }
        // The ingest thread holds the pipeline too; closing the hand-off lets it finish and exit.
        self.pipeline.close();
    }
}
