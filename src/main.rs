//! The llmwatch command line: parsing and wiring only.

use clap::Parser;
use llmwatch::config::{ByteSize, ServerConfig, split_budget};
use llmwatch::config_file::FileConfig;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{self, DemoOptions};
use llmwatch::headless::{self, HeadlessOptions};
use llmwatch::headless::{StatusSample, status_line};
use llmwatch::ingest::record::Recorder;
use llmwatch::ingest::send::Sender;
use llmwatch::replay::Speed;
use llmwatch::report::ReportOptions;
use llmwatch::semconv::SemconvConfig;
use llmwatch::summary::Summary;
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
    /// Read captured OTLP files and print the JSON summary (or, with --spans, one JSON line per
    /// normalised span).
    Report(ReportArgs),
    /// Feed captured OTLP files through the live pipeline at their recorded pace (or faster),
    /// then print the JSON summary.
    Replay(ReplayArgs),
    /// Built-in realistic agent traffic (services, routes, tenants, several models, errors,
    /// verdicts, scripted incidents), shown locally or sent to another receiver with --send.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Same seed, same traffic.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Spans per second of event time.
    #[arg(long, value_name = "SPANS_PER_SEC", default_value_t = 50.0)]
    rate: f64,
    /// Event time against the wall clock: 1 (live), a factor, or max.
    #[arg(long, value_name = "N|max", default_value = "1")]
    speed: Speed,
    /// Stop after this many seconds of event time (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    /// Send the traffic to another receiver instead of showing it: http://HOST:4317 (gRPC) or
    /// http://HOST:4318 / .../v1/traces (HTTP).
    #[arg(long, value_name = "URL")]
    send: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    /// Several files are merged in event-time order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Pace: a factor of the recorded pace (1, 10, 0.5) or max.
    #[arg(long, value_name = "N|max", default_value = "1")]
    speed: Speed,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print one JSON line per normalised span instead of the summary.
    #[arg(long)]
    spans: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// How live, replay and demo report: no screen yet, so status lines on stderr and the JSON
/// summary on stdout at the end.
#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// No screen (the only mode until the dashboard lands): status lines on stderr, the JSON
    /// summary on stdout at the end (live: at SIGINT/SIGTERM).
    #[arg(long)]
    headless: bool,
    /// Also write the JSON summary to FILE.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Seconds between status lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    status_interval: f64,
}

impl OutputArgs {
    fn status_every(&self) -> Duration {
        Duration::from_secs_f64(self.status_interval)
    }
}

/// `--record`, for live, replay and demo.
#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// Append everything accepted to FILE as OTLP/JSON lines (flushed every 250 ms; credentials
    /// redacted); replay it with `llmwatch replay FILE*`.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Rotate the recording past SIZE into numbered files FILE.1, FILE.2, ...
    #[arg(long, value_name = "SIZE", requires = "record")]
    record_max: Option<ByteSize>,
}

impl RecordArgs {
    fn open(&self) -> Result<Option<Arc<Recorder>>, String> {
        let Some(path) = &self.record else { return Ok(None) };
        Recorder::create(path, self.record_max.map(|s| s.0 as u64))
            .map(Some)
            .map_err(|e| format!("cannot record to {}: {e}", path.display()))
    }
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
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    record: RecordArgs,
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

/// What every running mode checks and loads first: the status interval, the config file, and
/// the note that there is no dashboard yet.
fn setup(
    common: &CommonArgs,
    output: &OutputArgs,
    headless: bool,
    doing: &str,
) -> Result<(Arc<SemconvConfig>, Arc<CostTable>), String> {
    if !(output.status_interval.is_finite() && output.status_interval > 0.0) {
        return Err("--status-interval must be a positive number of seconds".into());
    }
    let config = load_config(common.config.as_ref())?;
    if !headless {
        eprintln!(
            "llmwatch: the dashboard is not built yet; {doing} headless (pass --headless to silence this)"
        );
    }
    Ok(config)
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("llmwatch: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Report(args)) => report(args),
        Some(Command::Replay(args)) => replay(args),
        Some(Command::Demo(args)) => demo(args),
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
        speed: Speed::Max,
        status_every: None,
        recorder: None,
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

fn replay(args: ReplayArgs) -> ExitCode {
    let (semconv, costs) = match setup(&args.common, &args.output, args.output.headless, "replaying") {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let recorder = match args.record.open() {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let (store, handoff) = split_budget(args.common.max_spans, args.common.max_memory.0);
    let options = ReportOptions {
        files: args.files,
        spans: false,
        speed: args.speed,
        status_every: Some(args.output.status_every()),
        recorder,
        store,
        handoff,
        semconv,
        costs,
    };
    // Without --spans, `run` writes only the summary, which `publish` prints (and saves).
    let summary = match llmwatch::report::run(&options, &mut std::io::sink()) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    match summary.publish(args.output.summary.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

fn demo(args: DemoArgs) -> ExitCode {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return usage_error("--rate must be a positive number of spans per second");
    }
    // Sending shows nothing, so it needs no note about the missing dashboard.
    let quiet = args.output.headless || args.send.is_some();
    let (semconv, costs) = match setup(&args.common, &args.output, quiet, "running the demo") {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let options = DemoOptions {
        seed: args.seed,
        spans_per_sec: args.rate,
        speed: args.speed,
        duration_secs: args.duration,
    };
    let result = runtime.block_on(async {
        let stop = stop_flag()?;
        let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
        let mut driver = run::Driver::new(&options);
        if let Some(url) = &args.send {
            let mut sender = Sender::connect(url).await?;
            eprintln!(
                "llmwatch: demo sending to {url} ({} spans/s, speed {})",
                args.rate, args.speed
            );
            while !stopped() {
                let Some(batch) = driver.next().await else { break };
                run::send(&mut sender, batch).await?;
            }
            eprintln!("llmwatch: demo sent {} s of traffic", driver.seconds());
            return Ok::<_, anyhow::Error>(None);
        }
        let (store, handoff) = split_budget(args.common.max_spans, args.common.max_memory.0);
        let pipeline = run::local_pipeline(store, handoff, semconv, costs);
        if let Some(r) = args.record.open().map_err(anyhow::Error::msg)? {
            pipeline.set_recorder(r);
        }
        let every = args.output.status_every();
        let mut last = (std::time::Instant::now(), StatusSample::take(&pipeline));
        while !stopped() {
            let Some(batch) = driver.next().await else { break };
            run::feed_local(&pipeline, batch);
            if last.0.elapsed() >= every {
                let now = StatusSample::take(&pipeline);
                eprintln!("llmwatch: DEMO | {}", status_line(&last.1, &now));
                last = (std::time::Instant::now(), now);
            }
        }
        pipeline.shutdown();
        Ok(Some(Summary::collect(&pipeline)))
    });
    match result {
        Ok(Some(summary)) => match summary.publish(args.output.summary.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(e),
        },
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

/// A flag set by SIGINT or SIGTERM (handlers installed explicitly: a background process started
/// by a non-interactive shell has SIGINT ignored otherwise).
fn stop_flag() -> std::io::Result<Arc<std::sync::atomic::AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let f = flag.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        f.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    Ok(flag)
}

fn live(cli: LiveArgs) -> ExitCode {
    if cli.grpc.0.is_none() && cli.http.0.is_none() {
        return usage_error("both receivers are off; nothing to do");
    }
    let (semconv, costs) = match setup(&cli.common, &cli.output, cli.output.headless, "running") {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let recorder = match cli.record.open() {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
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
        recorder,
    };
    let options = HeadlessOptions {
        status_interval: cli.output.status_every(),
        summary_file: cli.output.summary,
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
