//! The command line as clap reads it: `llmwatch` (the live monitor) and its commands, each
//! with its own options; the option groups they share are in [`super::options`].

use super::generate::{CompletionsArgs, ManArgs};
use super::options::{CommonArgs, ForwardArgs, OutputArgs, RecordArgs};
use crate::config::ByteSize;
use crate::model::TraceIdPrefix;
use crate::replay::Speed;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A live monitor for LLM and agent traffic: an OTLP receiver (gRPC and HTTP) with a bounded
/// in-memory trace store.
#[derive(Debug, Parser)]
#[command(
    name = "llmwatch",
    version = super::VERSION,
    about,
    long_about = None,
    args_override_self = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
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
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per command into --dir.
    Man(ManArgs),
    /// Print the live monitor's effective configuration (these options, LLMWATCH_* variables,
    /// the config file, defaults) and where each value came from.
    Config(LiveArgs),
}

#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    pub files: Vec<PathBuf>,
    /// A reviews file (human verdicts as OTLP/JSON log lines), read with the captures.
    #[arg(long, value_name = "FILE")]
    pub reviews: Vec<PathBuf>,
    /// Keep the traces this query matches (the screen's `/` filter language).
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture.
    #[arg(long, value_name = "N", default_value_t = crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    pub max_input_ratio: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The baseline captures (known-good traffic).
    #[arg(required = true, value_name = "BASELINE")]
    pub baseline: Vec<PathBuf>,
    /// The candidate captures, after `--` (options may follow them).
    #[arg(long = "candidate", num_args = 1.., required = true, value_name = "CANDIDATE")]
    pub candidate: Vec<PathBuf>,
    /// Cohort to compare by: route, model, tenant, prompt_version or service.
    #[arg(long, value_name = "COHORT", default_value = "route")]
    pub by: String,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a change beyond noise makes a metric worse by more than its limit:
    /// cost=20%,p99=25%,fail_rate=5pp (metrics: cost, tokens_in, tokens_out, p50, p99, ttft,
    /// error_rate, llm_calls, tool_calls, repeated_tool_calls in %; fail_rate, error_rate in pp;
    /// score in %, worse when it falls).
    #[arg(long, value_name = "NAME=LIMIT,...")]
    pub fail_on: Option<String>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    pub max_input_ratio: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Same seed, same traffic.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Spans per second of event time.
    #[arg(long, value_name = "SPANS_PER_SEC", default_value_t = 50.0)]
    pub rate: f64,
    /// Event time against the wall clock: 1 (live), a factor, or max.
    #[arg(long, value_name = "N|max", default_value = "1")]
    pub speed: Speed,
    /// Stop after this many seconds of event time (default: run until SIGINT/SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Send the traffic to another receiver instead of showing it: http://HOST:4317 (gRPC) or
    /// http://HOST:4318 / .../v1/traces (HTTP). Without URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    /// or OTEL_EXPORTER_OTLP_ENDPOINT, with OTEL_EXPORTER_OTLP_PROTOCOL and _HEADERS.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub send: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    /// Several files are merged in event-time order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Pace: a factor of the recorded pace (1, 10, 0.5) or max.
    #[arg(long, value_name = "N|max", default_value = "1")]
    pub speed: Speed,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    pub max_input_ratio: u64,
    /// Start on this trace's drill-down once it has arrived: its id or the first 8 or more of
    /// its hex digits (the screen only).
    #[arg(long, value_name = "TRACE_ID", value_parser = TraceIdPrefix::parse)]
    pub open: Option<TraceIdPrefix>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Alert rules (TOML, `[[rule]]` entries; see docs/alerts.md).
    #[arg(long, value_name = "RULES.toml")]
    pub rules: PathBuf,
    /// A capture of known-good traffic (repeat for several files) for rules with `compare =
    /// "baseline"`: each cohort's value over all of it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Vec<PathBuf>,
    /// Also write the JSON summary (with its `alerts` list) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    pub max_input_ratio: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Captures: OTLP/JSON lines or the Collector's proto files, plain, gzip or zstd; - is stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON line per normalised span instead of the summary.
    #[arg(long)]
    pub spans: bool,
    /// Stop reading a gzip or zstd capture that inflates to more than N times its size (plus
    /// 64 MiB): a decompression bomb, not a capture. Real OTLP captures compress 10-30 times.
    #[arg(long, value_name = "N", default_value_t = crate::ingest::capture::DEFAULT_MAX_INPUT_RATIO)]
    pub max_input_ratio: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// OTLP/gRPC listen address, or "off".
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317", value_parser = parse_listen)]
    pub grpc: Listen,
    /// OTLP/HTTP listen address, or "off".
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318", value_parser = parse_listen)]
    pub http: Listen,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub forward: ForwardArgs,
    /// Largest request body accepted, compressed or decompressed (413 / RESOURCE_EXHAUSTED).
    #[arg(long, value_name = "SIZE", default_value = "16MiB")]
    pub max_request_size: ByteSize,
    /// Open connections per receiver; more are closed on accept (counted, logged).
    #[arg(long, value_name = "N", default_value_t = crate::ingest::conn::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Require "Authorization: Bearer TOKEN" on every request.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LLMWATCH_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub auth_token: Option<String>,
    /// Also tail a ClickHouse table of the Collector's clickhouseexporter
    /// (clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?table=..&logs_table=..]), every 2 s
    /// (poll=..); secure=true for HTTPS; repeatable. Password also from
    /// LLMWATCH_CLICKHOUSE_PASSWORD.
    #[arg(long, value_name = "URL")]
    pub source: Vec<String>,
}

/// A listen address, or `off` (`None`).
#[derive(Clone, Copy, Debug)]
pub struct Listen(pub Option<SocketAddr>);

pub fn parse_listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|e| format!("{e}: expected HOST:PORT such as 127.0.0.1:4317, or off"))
}
