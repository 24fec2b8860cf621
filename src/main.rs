//! The llmwatch command line: parsing and wiring only.

use clap::Parser;
use llmwatch::config::{ByteSize, ServerConfig, split_budget};
use llmwatch::headless::{self, HeadlessOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

// glibc malloc fragments badly when spans are decoded on receiver threads and freed on the
// ingest thread at eviction: RSS ran to nearly twice the memory estimate. mimalloc keeps RSS
// close to what is actually held, and is faster for this pattern (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A live monitor for LLM and agent traffic: an OTLP receiver (gRPC and HTTP) with a bounded
/// in-memory trace store.
#[derive(Debug, Parser)]
#[command(name = "llmwatch", version, about, long_about = None, args_override_self = true)]
struct Cli {
    /// OTLP/gRPC listen address, or "off".
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317", value_parser = parse_listen)]
    grpc: Listen,
    /// OTLP/HTTP listen address, or "off".
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318", value_parser = parse_listen)]
    http: Listen,
    /// No screen: status lines on stderr, JSON summary on stdout at SIGINT/SIGTERM.
    #[arg(long)]
    headless: bool,
    /// Also write the JSON summary to FILE on exit.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Most spans held in memory; whole oldest traces are evicted past it.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    max_spans: usize,
    /// Memory budget for received data, stored and in flight (an estimate of bytes held), e.g.
    /// 512MiB, 2GiB.
    #[arg(long, value_name = "SIZE", default_value = "512MiB")]
    max_memory: ByteSize,
    /// Largest request body accepted, compressed or decompressed (413 / RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "SIZE", default_value = "16MiB")]
    max_request_size: ByteSize,
    /// Require "Authorization: Bearer TOKEN" on every request.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LLMWATCH_AUTH_TOKEN",
        hide_env_values = true
    )]
    auth_token: Option<String>,
    /// Seconds between headless status lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    status_interval: f64,
}

#[derive(Clone, Copy, Debug)]
struct Listen(Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|e| format!("{e}: expected HOST:PORT such as 127.0.0.1:4317, or off"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !(cli.status_interval.is_finite() && cli.status_interval > 0.0) {
        eprintln!("llmwatch: --status-interval must be a positive number of seconds");
        return ExitCode::from(2);
    }
    if cli.grpc.0.is_none() && cli.http.0.is_none() {
        eprintln!("llmwatch: both receivers are off; nothing to do");
        return ExitCode::from(2);
    }
    if !cli.headless {
        eprintln!(
            "llmwatch: the dashboard is not built yet; running headless (pass --headless to silence this)"
        );
    }
    let (store, handoff) = split_budget(cli.max_spans, cli.max_memory.0);
    let config = ServerConfig {
        grpc: cli.grpc.0,
        http: cli.http.0,
        store,
        handoff,
        max_request_bytes: cli.max_request_size.0,
        auth_token: cli.auth_token.filter(|t| !t.is_empty()),
        ..ServerConfig::default()
    };
    let options = HeadlessOptions {
        summary_file: cli.summary,
        status_interval: Duration::from_secs_f64(cli.status_interval),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("llmwatch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(headless::run(config, options)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llmwatch: {e}");
            ExitCode::from(2)
        }
    }
}
