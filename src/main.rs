//! The llmwatch command line: parsing and wiring only.

use clap::Parser;
use llmwatch::config::{ByteSize, ServerConfig, split_budget};
use llmwatch::config_file::FileConfig;
use llmwatch::cost::CostTable;
use llmwatch::headless::{self, HeadlessOptions};
use llmwatch::report::ReportOptions;
use llmwatch::semconv::SemconvConfig;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

// glibc malloc fragments badly when spans are decoded on receiver threads and freed on the
// ingest thread at eviction: RSS ran to nearly twice the memory estimate. mimalloc keeps RSS
// close to what is actually held, and is faster for this pattern (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands memory the ingest thread freed back to the OS once it has been idle for a moment.
/// mimalloc returns freed pages only while a thread keeps allocating, so without this the pages
/// of a burst (spans decoded on receiver threads, freed at eviction by the ingest thread) stay
/// resident after the burst: measured, RSS after a million spans went from 588 to 548 MiB.
fn collect_when_idle() {
    // SAFETY: mi_collect only walks the calling thread's heap; safe to call at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// A live monitor for LLM and agent traffic: an OTLP receiver (gRPC and HTTP) with a bounded
/// in-memory trace store.
#[derive(Debug, Parser)]
#[command(
    name = "llmwatch",
    version,
    about,
    long_about = None,
    args_override_self = true,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    live: LiveArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Read captured OTLP/JSON-lines files and print the JSON summary (or, with --spans, one JSON
    /// line per normalised span).
    Report(ReportArgs),
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// OTLP/JSON-lines files: one export request (traces, logs or metrics) a line.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print one JSON line per normalised span instead of the summary.
    #[arg(long)]
    spans: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// Settings shared by the live monitor and report.
#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// TOML config: cohort keys, evaluator thresholds, price overrides.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Most spans held in memory; whole oldest traces are evicted past it.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    max_spans: usize,
    /// Memory budget for received data, stored and in flight (an estimate of bytes held), e.g.
    /// 512MiB, 2GiB.
    #[arg(long, value_name = "SIZE", default_value = "512MiB")]
    max_memory: ByteSize,
}

#[derive(Debug, clap::Args)]
struct LiveArgs {
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
    #[command(flatten)]
    common: CommonArgs,
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

/// The semantic settings and prices from `--config`, or the defaults.
fn load_config(path: Option<&PathBuf>) -> Result<(Arc<SemconvConfig>, Arc<CostTable>), String> {
    let file = match path {
        Some(p) => FileConfig::load(p).map_err(|e| e.to_string())?,
        None => FileConfig::default(),
    };
    Ok((Arc::new(file.semconv()), Arc::new(file.costs())))
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("llmwatch: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Report(args)) => report(args),
        None => live(cli.live),
    }
}

fn report(args: ReportArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let (store, handoff) = split_budget(args.common.max_spans, args.common.max_memory.0);
    let options = ReportOptions {
        files: args.files,
        spans: args.spans,
        store,
        handoff,
        semconv,
        costs,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match llmwatch::report::run(&options, &mut out).and_then(|s| {
        out.flush().map_err(llmwatch::report::ReportError::Write)?;
        Ok(s)
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

fn live(cli: LiveArgs) -> ExitCode {
    if !(cli.status_interval.is_finite() && cli.status_interval > 0.0) {
        return usage_error("--status-interval must be a positive number of seconds");
    }
    if cli.grpc.0.is_none() && cli.http.0.is_none() {
        return usage_error("both receivers are off; nothing to do");
    }
    let (semconv, costs) = match load_config(cli.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if !cli.headless {
        eprintln!(
            "llmwatch: the dashboard is not built yet; running headless (pass --headless to silence this)"
        );
    }
    let (store, handoff) = split_budget(cli.common.max_spans, cli.common.max_memory.0);
    let config = ServerConfig {
        grpc: cli.grpc.0,
        http: cli.http.0,
        store,
        handoff,
        max_request_bytes: cli.max_request_size.0,
        auth_token: cli.auth_token.filter(|t| !t.is_empty()),
        // Live mode guards the timeline against skewed client clocks (see ServerConfig).
        max_clock_skew_secs: Some(300),
        semconv,
        costs,
    };
    let options = HeadlessOptions {
        summary_file: cli.summary,
        status_interval: Duration::from_secs_f64(cli.status_interval),
    };
    llmwatch::ingest::handoff::set_idle_hook(collect_when_idle);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(headless::run(config, options)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}
