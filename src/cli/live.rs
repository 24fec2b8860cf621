//! `llmwatch` itself: the live monitor. The receivers (and `--source` tails) around one
//! pipeline, with the dashboard on this thread, or headless ([`super::headless`]).

use super::args::LiveArgs;
use super::headless::{self, HeadlessOptions};
use super::setup::{file_options, open_reviews, save_summary, setup, signal_flags, usage_error};
use crate::alert::{EngineOptions, RuleSet};
use crate::ingest::conn::ConnectionLimits;
use crate::report::ReportOptions;
use crate::server::ServerConfig;
use crate::ui::app::{App, Feed};
use crate::ui::baseline::BaselineRows;
use crate::ui::theme::Theme;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--max-connections`, lowered (with a note) when the open-files limit cannot hold it for
/// both receivers, after raising that limit as far as allowed.
fn connection_limits(asked: usize) -> ConnectionLimits {
    use crate::ingest::conn;
    let open_files = conn::raise_open_files_limit();
    let max_connections = conn::fit_to_open_files(asked.max(1), open_files);
    if max_connections < asked {
        crate::log!(
            "--max-connections {asked} lowered to {max_connections}: the open-files limit is {}",
            open_files.unwrap_or(0)
        );
    }
    conn::ConnectionLimits {
        max_connections,
        ..Default::default()
    }
}

pub fn run(cli: LiveArgs) -> ExitCode {
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
        let checked = crate::source::clickhouse::target(&url)
            .and_then(|t| crate::source::clickhouse::Tables::describe(&t).map(|_| ()));
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
    (theme, base): (Theme, Option<BaselineRows>),
    rules: Option<RuleSet>,
    summary: Option<&Path>,
    (reviews, template): (Option<PathBuf>, ReportOptions),
) -> ExitCode {
    let running = match runtime.block_on(crate::server::start(&config)) {
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
        crate::log!("warning: listening on a non-loopback address without --auth-token");
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
    let shown = crate::ui::run::run(app, stop);
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
