//! The option groups several commands share: how a run reports (`OutputArgs`), `--record`,
//! `--forward`, and the limits, config and ClickHouse range every command reads with
//! (`CommonArgs`).

use crate::alert::RuleSet;
use crate::config::{ByteSize, HandoffLimits, StoreLimits, split_budget};
use crate::config_file::FileConfig;
use crate::forward::{ForwardConfig, Header, Target};
use crate::ingest::record::Recorder;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How live, replay and demo report: the dashboard, or (headless) status lines on stderr and
/// the JSON summary on stdout at the end.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// No screen: status lines on stderr, the JSON summary on stdout at the end (live: at
    /// SIGINT/SIGTERM). Also chosen when stdout is not a terminal.
    #[arg(long)]
    pub headless: bool,
    /// Colour theme: dark (default), light, high-contrast, or a path to a theme TOML file.
    /// NO_COLOR is honoured.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Write diagnostics to FILE while the screen is open (otherwise the last ones are printed
    /// when it closes).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Also write the JSON summary to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Seconds between status lines.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub status_interval: f64,
    /// Alert rules (TOML, `[[rule]]` entries): the alerts pane and status banner on the screen;
    /// headless, a line on stderr per alert fired or resolved; the summary lists them.
    #[arg(long, value_name = "RULES.toml")]
    pub rules: Option<PathBuf>,
    /// The reviews file: reviews saved on the screen (`r`) are appended to FILE as OTLP/JSON
    /// log lines (a capture report/replay/check read), and the reviews it holds are shown again
    /// at start [default: $XDG_DATA_HOME/llmwatch/reviews.jsonl, else
    /// ~/.local/share/llmwatch/reviews.jsonl]
    #[arg(long, value_name = "FILE")]
    pub reviews: Option<PathBuf>,
    /// A capture of known-good traffic (repeat for several files) for rules with `compare =
    /// "baseline"`: read once at start, each cohort's value over all of it.
    #[arg(long, value_name = "FILE")]
    pub baseline: Vec<PathBuf>,
}

impl OutputArgs {
    pub fn status_every(&self) -> Duration {
        Duration::from_secs_f64(self.status_interval)
    }

    pub fn load_rules(&self) -> Result<Option<RuleSet>, String> {
        self.rules
            .as_deref()
            .map(RuleSet::load)
            .transpose()
            .map_err(|e| e.to_string())
    }
}

/// `--record`, for live, replay and demo.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Append everything accepted to FILE as OTLP/JSON lines (flushed every 250 ms; credentials
    /// redacted); replay it with `llmwatch replay FILE*`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Rotate the recording past SIZE into numbered files FILE.1, FILE.2, ...
    #[arg(long, value_name = "SIZE", requires = "record")]
    pub record_max: Option<ByteSize>,
    /// Hold at most SIZE of lines not yet written; past it receivers refuse requests (429 /
    /// UNAVAILABLE, retried by exporters) and files wait, so nothing accepted goes unrecorded.
    #[arg(long, value_name = "SIZE", requires = "record", default_value = "64MiB")]
    pub record_buffer: ByteSize,
}

impl RecordArgs {
    pub fn open(&self) -> Result<Option<Arc<Recorder>>, String> {
        let Some(path) = &self.record else { return Ok(None) };
        Recorder::create(path, self.record_max.map(|s| s.0 as u64), self.record_buffer.0)
            .map(Some)
            .map_err(|e| format!("cannot record to {}: {e}", path.display()))
    }
}

/// `--forward`, for the live monitor.
#[derive(Debug, clap::Args)]
pub struct ForwardArgs {
    /// Send everything accepted upstream to URL as well (repeatable; LLMWATCH_FORWARD takes a
    /// comma-separated list): http://HOST:4318 or any http URL with a path is OTLP/HTTP,
    /// another bare http://HOST:PORT or grpc://HOST:PORT is gRPC; ?protocol=grpc|http and
    /// ?compression=none override. See docs/fleet.md.
    #[arg(long, value_name = "URL", env = "LLMWATCH_FORWARD", value_delimiter = ',')]
    pub forward: Vec<String>,
    /// A header sent with every forwarded export, to every target (repeatable), e.g.
    /// x-scope-orgid=team-a.
    #[arg(long, value_name = "KEY=VALUE", requires = "forward")]
    pub forward_header: Vec<String>,
    /// Bytes each target may hold not yet forwarded; past it receivers refuse requests (429 /
    /// UNAVAILABLE, retried by exporters), so nothing acknowledged is dropped.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    pub forward_queue: ByteSize,
    /// How long exit waits for the forwarding queues to drain (then says what was left).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::eval::external::config::parse_duration)]
    pub forward_drain: Duration,
}

impl ForwardArgs {
    pub fn config(&self) -> Result<Option<ForwardConfig>, String> {
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
            .map(|u| Target::parse(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let headers = self
            .forward_header
            .iter()
            .map(|h| Header::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(Some(ForwardConfig {
            targets,
            headers,
            queue_bytes: self.forward_queue.0,
            drain: self.forward_drain,
        }))
    }
}

/// Settings shared by the live monitor and report.
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// TOML config: cohort keys, evaluator thresholds, price overrides.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Most spans held in memory; whole oldest traces are evicted past it.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub max_spans: usize,
    /// Memory budget for received data, stored and in flight (an estimate of bytes held), e.g.
    /// 512MiB, 2GiB.
    #[arg(long, value_name = "SIZE", default_value = "512MiB")]
    pub max_memory: ByteSize,
    /// Most of the span and memory limits that traces kept for a reason (errors, failed
    /// verdicts, slow or costly calls, reviews, alert examples) may hold, 0 to 1; plain traces
    /// are evicted before kept ones until kept ones pass this share.
    #[arg(long, value_name = "SHARE", default_value_t = crate::store::keep::DEFAULT_KEEP_SHARE, value_parser = parse_share)]
    pub keep_share: f64,
    /// A cost outlier costs at least this much (USD) over its cohort's median, besides 3x the
    /// median and a robust score of 3.5 (the outlier pane and retention's cost_outlier reason).
    /// Default 0.01, or cost_outlier_floor in the config.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub cost_outlier_floor: Option<f64>,
    /// ClickHouse sources: only rows of the last DURATION (90s, 15m, 2h, 7d); live: where the
    /// tail starts.
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<String>,
    /// ClickHouse sources: only rows at or after TIME (2026-12-07T04:00:00Z or unix seconds).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// ClickHouse sources: only rows before TIME.
    #[arg(long, value_name = "TIME", requires = "from")]
    pub to: Option<String>,
}

pub fn parse_since(s: &str) -> Result<String, String> {
    crate::source::clickhouse::url::parse_duration(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("expected a duration like 90s, 15m, 2h or 7d, not {s:?}"))
}

impl CommonArgs {
    /// `--since`, `--from`, `--to` added to every `clickhouse://` source as URL options (files
    /// are left as they are).
    pub fn source_range(&self, files: Vec<PathBuf>) -> Vec<PathBuf> {
        let options: Vec<String> = [("since", &self.since), ("from", &self.from), ("to", &self.to)]
            .into_iter()
            .filter_map(|(k, v)| {
                Some(format!(
                    "{k}={}",
                    crate::source::clickhouse::url::encode(v.as_ref()?)
                ))
            })
            .collect();
        if options.is_empty() {
            return files;
        }
        files
            .into_iter()
            .map(|f| match f.to_str() {
                Some(url) if crate::source::clickhouse::is_clickhouse(url) => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    PathBuf::from(format!("{url}{sep}{}", options.join("&")))
                }
                _ => f,
            })
            .collect()
    }

    /// The store's and the hand-off's limits from `--max-spans`, `--max-memory`, `--keep-share`,
    /// and the cost-outlier floor (`--cost-outlier-floor`, else the config's).
    pub fn budgets(&self) -> (StoreLimits, HandoffLimits) {
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

pub fn parse_usd(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "expected an amount in USD, 0 or more (e.g. 0.01), not {s:?}"
        )),
    }
}

pub fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share from 0 to 1 (e.g. 0.5), not {s:?}")),
    }
}
