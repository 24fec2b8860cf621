//! The llmwatch command line: parsing and wiring only.

use clap::Parser;
use llmwatch::alert::check::Watcher;
use llmwatch::alert::{EngineOptions, RuleSet};
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
use llmwatch::review::file::ReviewsFile;
use llmwatch::semconv::SemconvConfig;
use llmwatch::signals::Interrupts;
use llmwatch::summary::Summary;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::{ColorDepth, Theme};
use std::io::{IsTerminal, Write};
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

/// mimalloc's `mi_option_purge_delay` (its index in mimalloc.h's `mi_option_t`; libmimalloc-sys
/// exports no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Replay and report allocate records as fast as they read, while the ingest thread frees
/// evicted ones: with mimalloc's default purge delay (1 s) freed pages went back to the OS and
/// were faulted in (and zeroed) again soon after, about 20,000 page faults and 5 to 10% of a
/// million-span replay's CPU (BENCHMARKS.md). Ten seconds keeps them while the reading goes
/// on; an idle screen still hands memory back (`collect_when_idle` forces a purge).
///
/// And no transparent huge pages for the process (mimalloc asks for them, and the kernel then
/// zeroes 2 MiB at each first touch): a million-span replay took ~0.5 s less system time and
/// ~50 MiB less peak RSS without them (BENCHMARKS.md). mimalloc reads its own THP option only
/// as it starts, before main, so this asks the kernel.
fn tune_memory_for_files() {
    // SAFETY: called first thing in main, before any other thread exists (mi_option_set is not
    // thread safe); the option takes milliseconds.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10_000) };
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE reads only its integer arguments. A kernel without
    // it refuses the call, which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// A live monitor for LLM and agent traffic: an OTLP receiver (gRPC and HTTP) with a bounded
/// in-memory trace store.
#[derive(Debug, Parser)]
#[command(
    name = "llmwatch",
    version = llmwatch::cli::VERSION,
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
    /// Replay captures at full speed with alert rules watching, print each alert that fired,
    /// and exit 1 if any did (0 if none, 2 on bad input): a regression gate for CI.
    Check(CheckArgs),
    /// Built-in realistic agent traffic (services, routes, tenants, several models, errors,
    /// verdicts, scripted incidents), shown locally or sent to another receiver with --send.
    Demo(DemoArgs),
    /// Compare two captures per cohort (`diff BASELINE... -- CANDIDATE...`): cost, tokens,
    /// latency, errors, evaluator fail rates and scores, calls per trace; changes beyond noise
    /// are marked. Exit 1 when one breaks a --fail-on threshold (0 otherwise, 2 on bad input).
    Diff(DiffArgs),
    /// Write one JSON line per model call of the captured traces a filter keeps (input,
    /// context, output, verdicts, the person's verdict, the expected label): a regression
    /// dataset. Exit 2 on bad input or a bad filter.
    Dataset(DatasetArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(llmwatch::cli::generate::CompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per command into --dir.
    Man(llmwatch::cli::generate::ManArgs),
    /// Print the live monitor's effective configuration (these options, LLMWATCH_* variables,
    /// the config file, defaults) and where each value came from.
    Config(LiveArgs),
}

#[derive(Debug, clap::Args)]
struct DatasetArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    files: Vec<PathBuf>,
    /// A reviews file (human verdicts as OTLP/JSON log lines), read with the captures.
    #[arg(long, value_name = "FILE")]
    reviews: Vec<PathBuf>,
    /// Keep the traces this query matches (the screen's `/` filter language).
    #[arg(long, value_name = "QUERY")]
    filter: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture.
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    max_input_ratio: u64,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The baseline captures (known-good traffic).
    #[arg(required = true, value_name = "BASELINE")]
    baseline: Vec<PathBuf>,
    /// The candidate captures, after `--` (options may follow them).
    #[arg(long = "candidate", num_args = 1.., required = true, value_name = "CANDIDATE")]
    candidate: Vec<PathBuf>,
    /// Cohort to compare by: route, model, tenant, prompt_version or service.
    #[arg(long, value_name = "COHORT", default_value = "route")]
    by: String,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 1 when a change beyond noise makes a metric worse by more than its limit:
    /// cost=20%,p99=25%,fail_rate=5pp (metrics: cost, tokens_in, tokens_out, p50, p99, ttft,
    /// error_rate, llm_calls, tool_calls, repeated_tool_calls in %; fail_rate, error_rate in pp;
    /// score in %, worse when it falls).
    #[arg(long, value_name = "NAME=LIMIT,...")]
    fail_on: Option<String>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    max_input_ratio: u64,
    #[command(flatten)]
    common: CommonArgs,
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
    /// http://HOST:4318 / .../v1/traces (HTTP). Without URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    /// or OTEL_EXPORTER_OTLP_ENDPOINT, with OTEL_EXPORTER_OTLP_PROTOCOL and _HEADERS.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
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
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    max_input_ratio: u64,
    /// Start on this trace's drill-down once it has arrived (32 hex digits; the screen only).
    #[arg(long, value_name = "TRACE_ID", value_parser = parse_trace_id)]
    open: Option<llmwatch::model::TraceId>,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn parse_trace_id(s: &str) -> Result<llmwatch::model::TraceId, String> {
    llmwatch::model::TraceId::from_hex(s)
        .ok_or_else(|| "a trace id is 32 hex digits, not all zero".to_string())
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Alert rules (TOML, `[[rule]]` entries; see docs/alerts.md).
    #[arg(long, value_name = "RULES.toml")]
    rules: PathBuf,
    /// A capture of known-good traffic (repeat for several files) for rules with `compare =
    /// "baseline"`: each cohort's value over all of it.
    #[arg(long, value_name = "FILE")]
    baseline: Vec<PathBuf>,
    /// Also write the JSON summary (with its `alerts` list) to FILE.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    max_input_ratio: u64,
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
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    max_input_ratio: u64,
    #[command(flatten)]
    common: CommonArgs,
}

/// How live, replay and demo report: the dashboard, or (headless) status lines on stderr and
/// the JSON summary on stdout at the end.
#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// No screen: status lines on stderr, the JSON summary on stdout at the end (live: at
    /// SIGINT/SIGTERM). Also chosen when stdout is not a terminal.
    #[arg(long)]
    headless: bool,
    /// Colour theme: dark (default), light, high-contrast, or a path to a theme TOML file.
    /// NO_COLOR is honoured.
    #[arg(long, value_name = "NAME|FILE")]
    theme: Option<String>,
    /// Write diagnostics to FILE while the screen is open (otherwise the last ones are printed
    /// when it closes).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Also write the JSON summary to FILE.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Seconds between status lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    status_interval: f64,
    /// Alert rules (TOML, `[[rule]]` entries): the alerts pane and status banner on the screen;
    /// headless, a line on stderr per alert fired or resolved; the summary lists them.
    #[arg(long, value_name = "RULES.toml")]
    rules: Option<PathBuf>,
    /// The reviews file: reviews saved on the screen (`r`) are appended to FILE as OTLP/JSON
    /// log lines (a capture report/replay/check read), and the reviews it holds are shown again
    /// at start [default: $XDG_DATA_HOME/llmwatch/reviews.jsonl, else
    /// ~/.local/share/llmwatch/reviews.jsonl]
    #[arg(long, value_name = "FILE")]
    reviews: Option<PathBuf>,
    /// A capture of known-good traffic (repeat for several files) for rules with `compare =
    /// "baseline"`: read once at start, each cohort's value over all of it.
    #[arg(long, value_name = "FILE")]
    baseline: Vec<PathBuf>,
}

impl OutputArgs {
    fn status_every(&self) -> Duration {
        Duration::from_secs_f64(self.status_interval)
    }

    fn load_rules(&self) -> Result<Option<RuleSet>, String> {
        self.rules
            .as_deref()
            .map(RuleSet::load)
            .transpose()
            .map_err(|e| e.to_string())
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
    /// Hold at most SIZE of lines not yet written; past it receivers refuse requests (429 /
    /// UNAVAILABLE, retried by exporters) and files wait, so nothing accepted goes unrecorded.
    #[arg(long, value_name = "SIZE", requires = "record", default_value = "64MiB")]
    record_buffer: ByteSize,
}

impl RecordArgs {
    fn open(&self) -> Result<Option<Arc<Recorder>>, String> {
        let Some(path) = &self.record else { return Ok(None) };
        Recorder::create(path, self.record_max.map(|s| s.0 as u64), self.record_buffer.0)
            .map(Some)
            .map_err(|e| format!("cannot record to {}: {e}", path.display()))
    }
}

/// `--forward`, for the live monitor.
#[derive(Debug, clap::Args)]
struct ForwardArgs {
    /// Send everything accepted upstream to URL as well (repeatable; LLMWATCH_FORWARD takes a
    /// comma-separated list): http://HOST:4318 or any http URL with a path is OTLP/HTTP,
    /// another bare http://HOST:PORT or grpc://HOST:PORT is gRPC; ?protocol=grpc|http and
    /// ?compression=none override. See docs/fleet.md.
    #[arg(long, value_name = "URL", env = "LLMWATCH_FORWARD", value_delimiter = ',')]
    forward: Vec<String>,
    /// A header sent with every forwarded export, to every target (repeatable), e.g.
    /// x-scope-orgid=team-a.
    #[arg(long, value_name = "KEY=VALUE", requires = "forward")]
    forward_header: Vec<String>,
    /// Bytes each target may hold not yet forwarded; past it receivers refuse requests (429 /
    /// UNAVAILABLE, retried by exporters), so nothing acknowledged is dropped.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    forward_queue: ByteSize,
    /// How long exit waits for the forwarding queues to drain (then says what was left).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = llmwatch::eval::external::config::parse_duration)]
    forward_drain: Duration,
}

impl ForwardArgs {
    fn config(&self) -> Result<Option<llmwatch::forward::ForwardConfig>, String> {
        let urls: Vec<&str> = self
            .forward
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return Ok(None);
        }
        let targets = urls
            .iter()
            .map(|u| llmwatch::forward::Target::parse(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let headers = self
            .forward_header
            .iter()
            .map(|h| llmwatch::forward::Header::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(Some(llmwatch::forward::ForwardConfig {
            targets,
            headers,
            queue_bytes: self.forward_queue.0,
            drain: self.forward_drain,
        }))
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
    /// Most of the span and memory limits that traces kept for a reason (errors, failed
    /// verdicts, slow or costly calls, reviews, alert examples) may hold, 0 to 1; plain traces
    /// are evicted before kept ones until kept ones pass this share.
    #[arg(long, value_name = "SHARE", default_value_t = llmwatch::store::keep::DEFAULT_KEEP_SHARE, value_parser = parse_share)]
    keep_share: f64,
    /// A cost outlier costs at least this much (USD) over its cohort's median, besides 3x the
    /// median and a robust score of 3.5 (the outlier pane and retention's cost_outlier reason).
    /// Default 0.01, or cost_outlier_floor in the config.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    cost_outlier_floor: Option<f64>,
    /// ClickHouse sources: only rows of the last DURATION (90s, 15m, 2h, 7d); live: where the
    /// tail starts.
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    since: Option<String>,
    /// ClickHouse sources: only rows at or after TIME (2026-12-07T04:00:00Z or unix seconds).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// ClickHouse sources: only rows before TIME.
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,
}

fn parse_since(s: &str) -> Result<String, String> {
    llmwatch::source::clickhouse::url::parse_duration(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("expected a duration like 90s, 15m, 2h or 7d, not {s:?}"))
}

impl CommonArgs {
    /// `--since`, `--from`, `--to` added to every `clickhouse://` source as URL options (files
    /// are left as they are).
    fn source_range(&self, files: Vec<PathBuf>) -> Vec<PathBuf> {
        let options: Vec<String> = [("since", &self.since), ("from", &self.from), ("to", &self.to)]
            .into_iter()
            .filter_map(|(k, v)| {
                Some(format!(
                    "{k}={}",
                    llmwatch::source::clickhouse::url::encode(v.as_ref()?)
                ))
            })
            .collect();
        if options.is_empty() {
            return files;
        }
        files
            .into_iter()
            .map(|f| match f.to_str() {
                Some(url) if llmwatch::source::clickhouse::is_clickhouse(url) => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    PathBuf::from(format!("{url}{sep}{}", options.join("&")))
                }
                _ => f,
            })
            .collect()
    }

    /// The store's and the hand-off's limits from `--max-spans`, `--max-memory`, `--keep-share`,
    /// and the cost-outlier floor (`--cost-outlier-floor`, else the config's).
    fn budgets(&self) -> (llmwatch::store::StoreLimits, llmwatch::config::HandoffLimits) {
        let (mut store, handoff) = split_budget(self.max_spans, self.max_memory.0);
        store.keep_share = self.keep_share;
        // The config was read (and any error in it reported) by `setup` before this runs.
        let from_config = || {
            let path = self.config.as_ref()?;
            FileConfig::load(path).ok()?.cost_outlier_floor
        };
        if let Some(usd) = self.cost_outlier_floor.or_else(from_config) {
            store.cost_floor_usd = usd;
        }
        (store, handoff)
    }
}

fn parse_usd(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected an amount in USD, 0 or more (e.g. 0.01), not {s:?}"
        )),
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share from 0 to 1 (e.g. 0.5), not {s:?}")),
    }
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
    #[command(flatten)]
    forward: ForwardArgs,
    /// Largest request body accepted, compressed or decompressed (413 / RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "SIZE", default_value = "16MiB")]
    max_request_size: ByteSize,
    /// Open connections per receiver; more are closed on accept (counted, logged).
    #[arg(long, value_name = "N", default_value_t = llmwatch::ingest::conn::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Require "Authorization: Bearer TOKEN" on every request.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LLMWATCH_AUTH_TOKEN",
        hide_env_values = true
    )]
    auth_token: Option<String>,
    /// Also tail a ClickHouse table of the Collector's clickhouseexporter
    /// (clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?table=..&logs_table=..]), every 2 s
    /// (poll=..); secure=true for HTTPS; repeatable. Password also from
    /// LLMWATCH_CLICKHOUSE_PASSWORD.
    #[arg(long, value_name = "URL")]
    source: Vec<String>,
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

/// The semantic settings and prices from `--config` (or `LLMWATCH_CONFIG`), else the default
/// config file when it exists, or the defaults.
fn load_config(path: Option<&PathBuf>) -> Result<(Arc<SemconvConfig>, Arc<CostTable>), String> {
    let default = || FileConfig::default_path().filter(|p| p.exists());
    let file = match path.cloned().or_else(default).as_ref() {
        Some(p) => FileConfig::load(p).map_err(|e| e.to_string())?,
        None => FileConfig::default(),
    };
    Ok((Arc::new(file.semconv()), Arc::new(file.costs())))
}

/// Semantic settings, prices, the theme when a screen is shown, the alert rules, and the
/// screen's baseline rows (`--baseline` with the screen).
type Loaded = (
    Arc<SemconvConfig>,
    Arc<CostTable>,
    Option<Theme>,
    Option<RuleSet>,
    Option<llmwatch::ui::baseline::BaselineRows>,
);

/// What every running mode checks and loads first: the status interval, the config file, the
/// log file and, for the screen, the theme. `None` for the theme means headless: asked for, or
/// stdout is not a terminal.
fn setup(common: &CommonArgs, output: &OutputArgs, headless: bool) -> Result<Loaded, String> {
    if !(output.status_interval.is_finite() && output.status_interval > 0.0) {
        return Err("--status-interval must be a positive number of seconds".into());
    }
    let (semconv, costs) = load_config(common.config.as_ref())?;
    let mut rules = output.load_rules()?;
    let screen = !headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    attach_baseline(rules.as_mut(), &output.baseline, common, &semconv, &costs, screen)?;
    // The screen compares its panes against the baseline: read once more into its own index.
    let base = if screen && !output.baseline.is_empty() {
        let options = file_options(output.baseline.clone(), common, semconv.clone(), costs.clone());
        let rows =
            llmwatch::ui::baseline::BaselineRows::load(&options).map_err(|e| format!("baseline: {e}"))?;
        Some(rows)
    } else {
        None
    };
    if let Some(path) = &output.log {
        llmwatch::log::to_file(path).map_err(|e| format!("cannot open the log {}: {e}", path.display()))?;
    }
    let theme = Theme::load(output.theme.as_deref())
        .map_err(|e| e.to_string())?
        .for_depth(ColorDepth::detect());
    if !headless && !screen {
        llmwatch::eprintln_lossy!(
            "llmwatch: not a terminal; running headless (pass --headless to silence this)"
        );
    }
    Ok((semconv, costs, screen.then_some(theme), rules, base))
}

/// Reads `--baseline` for the rules that compare against it. A rule with `compare` and no
/// `--baseline` is refused; a baseline no rule compares against is not read (said once).
fn attach_baseline(
    rules: Option<&mut RuleSet>,
    files: &[PathBuf],
    common: &CommonArgs,
    semconv: &Arc<SemconvConfig>,
    costs: &Arc<CostTable>,
    screen: bool,
) -> Result<(), String> {
    let wanted = rules
        .as_ref()
        .and_then(|r| r.baseline_rule())
        .map(|r| r.name.clone());
    match (rules, wanted, files.is_empty()) {
        (_, Some(name), true) => Err(format!(
            "rule {name:?} compares against a baseline (compare = ...); give --baseline FILE"
        )),
        (_, None, false) => {
            // The screen reads it for its panes.
            if !screen {
                llmwatch::eprintln_lossy!(
                    "llmwatch: no rule has compare = \"baseline\"; --baseline is not read"
                );
            }
            Ok(())
        }
        (Some(rules), Some(_), false) => {
            let options = file_options(files.to_vec(), common, semconv.clone(), costs.clone());
            let baseline = llmwatch::alert::baseline::Baseline::compute(&options, rules)
                .map_err(|e| format!("baseline: {e}"))?;
            rules.baseline = Some(Arc::new(baseline));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Writes the summary to `--summary FILE` after the screen closed (the screen prints nothing).
fn save_summary(summary: &Summary, path: Option<&std::path::Path>) -> ExitCode {
    let Some(path) = path else {
        return ExitCode::SUCCESS;
    };
    match std::fs::write(path, format!("{}\n", summary.to_json())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write {}: {e}", path.display())),
    }
}

/// The binary's one exit with a reason; the reason may quote input (a file name, a rule name,
/// a config line), so it is escaped like every printed line.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    llmwatch::eprintln_escaped!("llmwatch: {message}");
    ExitCode::from(2)
}

/// `--max-connections`, lowered (with a note) when the open-files limit cannot hold it for
/// both receivers, after raising that limit as far as allowed.
fn connection_limits(asked: usize) -> llmwatch::ingest::conn::ConnectionLimits {
    use llmwatch::ingest::conn;
    let open_files = conn::raise_open_files_limit();
    let max_connections = conn::fit_to_open_files(asked.max(1), open_files);
    if max_connections < asked {
        llmwatch::log!(
            "--max-connections {asked} lowered to {max_connections}: the open-files limit is {}",
            open_files.unwrap_or(0)
        );
    }
    conn::ConnectionLimits {
        max_connections,
        ..Default::default()
    }
}

/// The command line, with `diff`'s `--` (baseline files before it, candidate files after it,
/// options anywhere) spelled as the option clap reads it: `--candidate`. Elsewhere `--` keeps its
/// usual meaning.
fn command_line() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "diff")
        && let Some(dash) = args.iter().skip(2).position(|a| a == "--")
    {
        args[dash + 2] = "--candidate".into();
    }
    args
}

fn main() -> ExitCode {
    // Flags over LLMWATCH_* variables over the config file's [options] over defaults.
    let parsed = match llmwatch::cli::parse::<Cli>(command_line()) {
        Ok(parsed) => parsed,
        // Help and version are our own text, printed as clap prints them.
        Err(llmwatch::cli::ParseError::Clap(e)) if !e.use_stderr() => e.exit(),
        // A usage error quotes the argument it rejects: escaped like every printed line.
        Err(llmwatch::cli::ParseError::Clap(e)) => {
            eprint!("{}", llmwatch::text::escape_lines(&e.render().to_string()));
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
        Err(e) => return usage_error(e),
    };
    match &parsed.cli.command {
        Some(Command::Completions(args)) => return completions(&parsed.command, args.shell),
        Some(Command::Man(args)) => return man(&parsed.command, args.dir.as_deref()),
        Some(Command::Config(_)) => {
            print!("{}", llmwatch::cli::show::render(&parsed, "config"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cli = parsed.cli;
    if matches!(
        cli.command,
        Some(
            Command::Report(_)
                | Command::Replay(_)
                | Command::Check(_)
                | Command::Diff(_)
                | Command::Dataset(_)
        )
    ) {
        tune_memory_for_files();
    }
    match cli.command {
        Some(Command::Report(args)) => report(args),
        Some(Command::Replay(args)) => replay(args),
        Some(Command::Check(args)) => check(args),
        Some(Command::Diff(args)) => diff(args),
        Some(Command::Demo(args)) => demo(args),
        Some(Command::Dataset(args)) => dataset(args),
        Some(Command::Completions(_) | Command::Man(_) | Command::Config(_)) => ExitCode::SUCCESS,
        None => live(cli.live),
    }
}

fn completions(cmd: &clap::Command, shell: llmwatch::cli::generate::Shell) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match llmwatch::cli::generate::completions(cmd.clone(), shell, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write the completions: {e}")),
    }
}

fn man(cmd: &clap::Command, dir: Option<&std::path::Path>) -> ExitCode {
    let written = match dir {
        Some(dir) => llmwatch::cli::generate::man_pages(cmd.clone(), dir),
        None => llmwatch::cli::generate::man(cmd.clone(), &mut std::io::stdout().lock()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write the man page: {e}")),
    }
}

fn report(args: ReportArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let options = ReportOptions {
        spans: args.spans,
        max_input_ratio: args.max_input_ratio,
        ..file_options(args.files, &args.common, semconv, costs)
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match llmwatch::report::run_before_exit(&options, &mut out).and_then(|s| {
        out.flush().map_err(llmwatch::report::ReportError::Write)?;
        Ok(s)
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

fn dataset(args: DatasetArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut files = args.files;
    files.extend(args.reviews);
    let options = ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(files, &args.common, semconv, costs)
    };
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return usage_error(format!("cannot write {}: {e}", path.display())),
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match llmwatch::dataset::run(&options, args.filter.as_deref(), &mut out) {
        Ok(rows) => {
            if let Some(path) = &args.out {
                llmwatch::eprintln_escaped!("llmwatch: wrote {rows} rows to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}

/// Reading files through the pipeline at full speed, for `report`, `check` and `replay`.
fn file_options(
    files: Vec<PathBuf>,
    common: &CommonArgs,
    semconv: Arc<SemconvConfig>,
    costs: Arc<CostTable>,
) -> ReportOptions {
    let (store, handoff) = common.budgets();
    ReportOptions {
        files: common.source_range(files),
        spans: false,
        speed: Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        semconv,
        costs,
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut rules = match RuleSet::load(&args.rules) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = attach_baseline(
        Some(&mut rules),
        &args.baseline,
        &args.common,
        &semconv,
        &costs,
        false,
    ) {
        return usage_error(e);
    }
    let options = ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(args.files, &args.common, semconv, costs)
    };
    let outcome = match llmwatch::alert::check::run(&options, rules) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let mut out = std::io::stdout().lock();
    for line in &outcome.lines {
        let _ = writeln!(out, "{}", llmwatch::text::escape_lines(line));
    }
    let _ = out.flush();
    if let Some(path) = &args.summary
        && let Err(e) = std::fs::write(path, format!("{}\n", outcome.summary.to_json()))
    {
        return usage_error(format!("cannot write {}: {e}", path.display()));
    }
    for line in &outcome.new_cohorts {
        llmwatch::eprintln_escaped!("llmwatch check: {line}");
    }
    for w in &outcome.warnings {
        llmwatch::eprintln_escaped!("llmwatch check: warning: {w}");
    }
    let spans = outcome.summary.spans.accepted;
    if outcome.input.malformed_lines > 0 {
        return usage_error(format!(
            "{} malformed lines in the input (see above); the check is not trustworthy",
            outcome.input.malformed_lines
        ));
    }
    if spans == 0 && outcome.summary.logs.accepted == 0 {
        return usage_error("the input holds no spans or logs");
    }
    llmwatch::eprintln_lossy!(
        "llmwatch check: {} alert{} fired over {spans} spans",
        outcome.lines.len(),
        if outcome.lines.len() == 1 { "" } else { "s" }
    );
    if outcome.fired() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn diff(args: DiffArgs) -> ExitCode {
    use llmwatch::diff::{self, DiffOptions, table};
    let by = match args.by.parse() {
        Ok(k) if diff::BY.contains(&k) => k,
        Ok(k) => {
            return usage_error(format!(
                "--by {k}: one of route, model, tenant, prompt_version, service"
            ));
        }
        Err(e) => return usage_error(format!("--by: {e}")),
    };
    let fail_on = match args.fail_on.as_deref().map(str::parse).transpose() {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let (semconv, costs) = match load_config(args.common.config.as_ref()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let side = |files| ReportOptions {
        max_input_ratio: args.max_input_ratio,
        ..file_options(files, &args.common, semconv.clone(), costs.clone())
    };
    let options = DiffOptions {
        baseline: side(args.baseline.clone()),
        candidate: side(args.candidate.clone()),
        by,
        fail_on,
    };
    let outcome = match diff::run(&options) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    for (name, read) in [("baseline", &outcome.baseline), ("candidate", &outcome.candidate)] {
        if read.evicted > 0 {
            llmwatch::eprintln_escaped!(
                "llmwatch diff: warning: {} {name} spans were evicted before the end and are not compared; raise --max-spans or --max-memory",
                read.evicted
            );
        }
    }
    let names = |files: &[PathBuf]| -> Vec<String> {
        files.iter().map(|f| llmwatch::source::input_name(f)).collect()
    };
    let (baseline_files, candidate_files) = (names(&args.baseline), names(&args.candidate));
    let heading = table::Heading {
        by: by.as_str(),
        baseline_traces: outcome.baseline.traces,
        candidate_traces: outcome.candidate.traces,
        baseline_files: &baseline_files,
        candidate_files: &candidate_files,
    };
    let text = if args.json {
        format!(
            "{}\n",
            llmwatch::text::json_for_terminal(table::to_json(&heading, &outcome.rows).to_string())
        )
    } else {
        let colour =
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        table::render(&heading, &outcome.rows, options.fail_on.is_some(), colour)
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if outcome.fails() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn replay(args: ReplayArgs) -> ExitCode {
    let (semconv, costs, theme, rules, base) = match setup(&args.common, &args.output, args.output.headless) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let recorder = match args.record.open() {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let mut options = ReportOptions {
        speed: args.speed,
        status_every: Some(args.output.status_every()),
        recorder,
        max_input_ratio: args.max_input_ratio,
        ..file_options(args.files, &args.common, semconv, costs)
    };
    // Headless, a reviews file named on the command line is one more capture, merged in event
    // time (a review's time is its span's end). Not written yet: nothing to read.
    if theme.is_none()
        && let Some(path) = args.output.reviews.as_ref().filter(|p| p.exists())
    {
        options.files.push(path.clone());
    }
    if let Some(theme) = theme {
        return replay_on_screen(
            options,
            args.speed,
            (theme, base),
            rules,
            args.output.summary.as_deref(),
            args.output.reviews.as_ref(),
            args.open,
        );
    }
    if args.open.is_some() {
        return usage_error("--open opens a trace on the screen: drop --headless");
    }
    let summary = match rules {
        Some(rules) => {
            let watched = llmwatch::alert::check::replay(&options, rules, EngineOptions::replay(), |line| {
                llmwatch::eprintln_escaped!("llmwatch: {line}")
            });
            match watched {
                Ok(o) => o.summary,
                Err(e) => return usage_error(e),
            }
        }
        // Without --spans, `run` writes only the summary, which `publish` prints (and saves).
        None => match llmwatch::report::run_before_exit(&options, &mut std::io::sink()) {
            Ok(s) => s,
            Err(e) => return usage_error(e),
        },
    };
    match summary.publish(args.output.summary.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

/// Replay with the dashboard: the files are fed on their own thread under the screen's control
/// (pause, speed); quitting stops the feed.
fn replay_on_screen(
    mut options: ReportOptions,
    speed: Speed,
    (theme, base): (Theme, Option<llmwatch::ui::baseline::BaselineRows>),
    rules: Option<RuleSet>,
    summary: Option<&std::path::Path>,
    reviews: Option<&PathBuf>,
    open: Option<llmwatch::model::TraceId>,
) -> ExitCode {
    options.status_every = None;
    // An unreadable file is said before the screen opens, not after it closes.
    for path in options.files.iter().filter(|p| p.as_os_str() != "-") {
        if let Err(e) = std::fs::File::open(path) {
            return usage_error(format!("cannot read {}: {e}", path.display()));
        }
    }
    let pipeline = llmwatch::report::start_pipeline(&options);
    // Past reviews go in before the traffic, like a file read first.
    let reviews = match open_reviews(reviews, &pipeline, &options) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let control = Arc::new(llmwatch::replay::ReplayControl::new(speed));
    let files = options
        .files
        .iter()
        .map(|f| llmwatch::source::input_name(f))
        .collect();
    let feeder = {
        let (pipeline, control) = (pipeline.clone(), control.clone());
        std::thread::spawn(move || {
            let result = llmwatch::report::feed_files(&options, &pipeline, Some(&control));
            control.set_done();
            result
        })
    };
    let stop = match signal_flags(true) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let mut app = App::new(
        pipeline.clone(),
        Feed::Replay {
            files,
            control: control.clone(),
        },
        theme,
    );
    if let Some(base) = base {
        app.set_baseline(base);
    }
    if let Some(rules) = rules {
        app.watch_rules(rules, EngineOptions::replay());
    }
    if let Some(r) = reviews {
        app.set_reviews(r);
    }
    if let Some(id) = open {
        app.open_when_arrived(id);
    }
    let shown = llmwatch::ui::run::run(app, stop);
    control.request_stop();
    let fed = feeder.join();
    pipeline.shutdown();
    let shown = match shown {
        Ok(app) => app,
        Err(e) => return usage_error(format!("the screen failed: {e}")),
    };
    match fed {
        Ok(Ok(_)) => save_summary(&shown.summary(), summary),
        Ok(Err(e)) => usage_error(e),
        Err(_) => usage_error("the replay thread panicked"),
    }
}

/// The screen's reviews file (`--reviews`, else the default path), with the reviews it holds
/// fed into `pipeline` first so they show again.
fn open_reviews(
    path: Option<&PathBuf>,
    pipeline: &Arc<llmwatch::ingest::handoff::Pipeline>,
    template: &ReportOptions,
) -> Result<Option<ReviewsFile>, String> {
    let Some(path) = path.cloned().or_else(ReviewsFile::default_path) else {
        return Ok(None);
    };
    let file = ReviewsFile::new(path);
    let loaded = file.load_into(pipeline, template).map_err(|e| e.to_string())?;
    if loaded > 0 {
        llmwatch::log!("loaded {loaded} review lines from {}", file.path().display());
    }
    Ok(Some(file))
}

/// The signal flags for a mode whose main thread runs the screen or a generator loop.
fn signal_flags(screen: bool) -> Result<Arc<Interrupts>, String> {
    Interrupts::watch(screen).map_err(|e| format!("cannot start the signal thread: {e}"))
}

/// Rules over demo traffic: its event time runs at `--speed`, not with the wall clock.
fn demo_rules() -> EngineOptions {
    EngineOptions {
        wall_clock: false,
        ..EngineOptions::live()
    }
}

fn demo(args: DemoArgs) -> ExitCode {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return usage_error("--rate must be a positive number of spans per second");
    }
    // Sending shows nothing.
    let quiet = args.output.headless || args.send.is_some();
    let (semconv, costs, theme, rules, base) = match setup(&args.common, &args.output, quiet) {
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
        // The screen suspends on SIGTSTP; without it, job control stops the process as usual.
        let stop = signal_flags(theme.is_some() && args.send.is_none()).map_err(anyhow::Error::msg)?;
        let stopped = || stop.stop_requested();
        let mut driver = run::Driver::new(&options);
        if let Some(send) = &args.send {
            let to = llmwatch::cli::otel_env::resolve(send, |k| std::env::var(k).ok())
                .map_err(anyhow::Error::msg)?;
            let url = &to.url;
            let mut sender = Sender::connect_with(url, to.protocol, to.headers).await?;
            llmwatch::eprintln_escaped!(
                "llmwatch: demo sending to {url} ({} spans/s, speed {})",
                args.rate,
                args.speed
            );
            while !stopped() {
                let Some(batch) = driver.next().await else { break };
                run::send(&mut sender, batch).await?;
            }
            llmwatch::eprintln_lossy!("llmwatch: demo sent {} s of traffic", driver.seconds());
            return Ok::<_, anyhow::Error>(None);
        }
        let (store, handoff) = args.common.budgets();
        let pipeline = run::local_pipeline(store, handoff, semconv.clone(), costs.clone());
        if let Some(r) = args.record.open().map_err(anyhow::Error::msg)? {
            pipeline.set_recorder(r);
        }
        if let Some(theme) = theme {
            let template = file_options(Vec::new(), &args.common, semconv.clone(), costs.clone());
            let reviews = open_reviews(args.output.reviews.as_ref(), &pipeline, &template)
                .map_err(anyhow::Error::msg)?;
            // The generator runs as a task; the screen owns this thread until it quits.
            let feeding = pipeline.clone();
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let halt = done.clone();
            let task = tokio::spawn(async move {
                let mut driver = run::Driver::new(&options);
                while !halt.load(std::sync::atomic::Ordering::Relaxed) {
                    let Some(batch) = driver.next().await else { break };
                    let p = feeding.clone();
                    tokio::task::spawn_blocking(move || run::feed_local(&p, batch)).await?;
                }
                Ok::<_, anyhow::Error>(())
            });
            let mut app = App::new(pipeline.clone(), Feed::Demo { rate: args.rate }, theme);
            if let Some(base) = base {
                app.set_baseline(base);
            }
            if let Some(rules) = rules {
                app.watch_rules(rules, demo_rules());
            }
            if let Some(r) = reviews {
                app.set_reviews(r);
            }
            let shown = tokio::task::block_in_place(|| llmwatch::ui::run::run(app, stop.clone()));
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            // The generator may be sleeping until its next second (long at slow speeds).
            task.abort();
            let _ = task.await;
            let app = shown?;
            let p = pipeline.clone();
            tokio::task::spawn_blocking(move || p.shutdown()).await?;
            return Ok(Some((app.summary(), false)));
        }
        let every = args.output.status_every();
        let mut last = (std::time::Instant::now(), StatusSample::take(&pipeline));
        let mut alerts = rules.map(|r| Watcher::new(&pipeline, r, demo_rules()));
        let mut looked = std::time::Instant::now();
        while !stopped() {
            let Some(batch) = driver.next().await else { break };
            run::feed_local(&pipeline, batch);
            if let Some(w) = &mut alerts
                && looked.elapsed() >= headless::ALERT_EVERY
            {
                headless::print_events(w, |w| w.sync(&pipeline));
                looked = std::time::Instant::now();
            }
            if last.0.elapsed() >= every {
                let now = StatusSample::take(&pipeline);
                llmwatch::eprintln_escaped!("llmwatch: DEMO | {}", status_line(&last.1, &now));
                last = (std::time::Instant::now(), now);
            }
        }
        if let Some(w) = &mut alerts {
            headless::print_events(w, |w| w.finish(&pipeline));
        }
        pipeline.shutdown();
        let mut summary = Summary::collect(&pipeline);
        if let Some(w) = &alerts {
            llmwatch::alert::fill_summary(&mut summary, &w.engine);
        }
        Ok(Some((summary, true)))
    });
    match result {
        Ok(Some((summary, false))) => save_summary(&summary, args.output.summary.as_deref()),
        Ok(Some((summary, true))) => match summary.publish(args.output.summary.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(e),
        },
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

fn live(cli: LiveArgs) -> ExitCode {
    if cli.grpc.0.is_none() && cli.http.0.is_none() {
        return usage_error("both receivers are off; nothing to do");
    }
    let (semconv, costs, theme, rules, base) = match setup(&cli.common, &cli.output, cli.output.headless) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let recorder = match cli.record.open() {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let forward = match cli.forward.config() {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let sources = cli
        .common
        .source_range(cli.source.iter().map(PathBuf::from).collect());
    let mut source_urls = Vec::with_capacity(sources.len());
    for source in sources {
        let url = source.to_string_lossy().into_owned();
        // Checked before anything starts: a wrong URL or table is a usage error, not a log line.
        let checked = llmwatch::source::clickhouse::target(&url)
            .and_then(|t| llmwatch::source::clickhouse::Tables::describe(&t).map(|_| ()));
        if let Err(e) = checked {
            return usage_error(format!("--source: {e}"));
        }
        source_urls.push(url);
    }
    let (store, handoff) = cli.common.budgets();
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
        forward,
        connections: connection_limits(cli.max_connections),
        sources: source_urls,
    };
    let options = HeadlessOptions {
        status_interval: cli.output.status_every(),
        summary_file: cli.output.summary,
        rules,
    };
    llmwatch::ingest::handoff::set_idle_hook(collect_when_idle);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    if let Some(theme) = theme {
        let summary = options.summary_file.clone();
        let template = file_options(
            Vec::new(),
            &cli.common,
            config.semconv.clone(),
            config.costs.clone(),
        );
        let reviews = (cli.output.reviews.clone(), template);
        return live_on_screen(
            &runtime,
            config,
            (theme, base),
            options.rules,
            summary.as_deref(),
            reviews,
        );
    }
    match runtime.block_on(headless::run(config, options)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => usage_error(e),
    }
}

/// The live monitor with the dashboard: receivers on the runtime, the screen on this thread.
fn live_on_screen(
    runtime: &tokio::runtime::Runtime,
    config: ServerConfig,
    (theme, base): (Theme, Option<llmwatch::ui::baseline::BaselineRows>),
    rules: Option<RuleSet>,
    summary: Option<&std::path::Path>,
    (reviews, template): (Option<PathBuf>, ReportOptions),
) -> ExitCode {
    let running = match runtime.block_on(llmwatch::server::start(&config)) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let reviews = match open_reviews(reviews.as_ref(), &running.pipeline, &template) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let listen: Vec<String> = [("grpc", running.grpc_addr), ("http", running.http_addr)]
        .into_iter()
        .filter_map(|(p, a)| a.map(|a| format!("{p} {a}")))
        .collect();
    let exposed = [running.grpc_addr, running.http_addr]
        .into_iter()
        .flatten()
        .any(|a| !a.ip().is_loopback());
    if exposed && config.auth_token.is_none() {
        llmwatch::log!("warning: listening on a non-loopback address without --auth-token");
    }
    let stop = match signal_flags(true) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let mut app = App::new(running.pipeline.clone(), Feed::Live { listen }, theme);
    if let Some(base) = base {
        app.set_baseline(base);
    }
    if let Some(rules) = rules {
        app.watch_rules(rules, EngineOptions::live());
    }
    if let Some(r) = reviews {
        app.set_reviews(r);
    }
    let shown = llmwatch::ui::run::run(app, stop);
    let mut result = runtime.block_on(running.stop());
    match shown {
        Ok(app) => {
            let shown = app.summary();
            result.alerts = shown.alerts;
            result.baseline = shown.baseline;
        }
        Err(e) => return usage_error(format!("the screen failed: {e}")),
    }
    save_summary(&result, summary)
}
