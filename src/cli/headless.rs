//! Headless mode: the receivers without a screen. A status line on stderr every few seconds, and
//! on SIGINT, SIGTERM, SIGHUP or SIGQUIT the JSON summary on stdout (and in `--summary FILE`).

use crate::alert::EngineOptions;
use crate::alert::check::Watcher;
use crate::server;
use crate::server::ServerConfig;
use crate::status::{StatusSample, status_line};
use crate::summary::Summary;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct HeadlessOptions {
    pub summary_file: Option<PathBuf>,
    pub status_interval: Duration,
    /// `--rules`: alerts are printed on stderr as they fire and resolve, and listed in the summary.
    pub rules: Option<crate::alert::RuleSet>,
}

/// How often headless modes look for alerts.
pub const ALERT_EVERY: Duration = Duration::from_millis(250);

/// Runs `step` and prints the alert state changes it returns on stderr, and the cohorts the
/// baseline lacks as they are first seen.
pub fn print_events(w: &mut Watcher, step: impl FnOnce(&mut Watcher) -> Vec<crate::alert::Event>) {
    for e in step(w) {
        crate::eprintln_escaped!("llmwatch: {}", w.describe(&e));
    }
    for line in w.new_cohort_lines() {
        crate::eprintln_escaped!("llmwatch: {line}");
    }
}

/// Runs until SIGINT, SIGTERM, SIGHUP or SIGQUIT and returns the final summary (already printed
/// and written).
pub async fn run(config: ServerConfig, options: HeadlessOptions) -> anyhow::Result<Summary> {
    let mut signals = crate::signals::StopSignals::install()?;
    let running = server::start(&config).await?;
    if let Some(addr) = running.grpc_addr {
        crate::eprintln_lossy!("llmwatch: OTLP/gRPC listening on {addr}");
    }
    if let Some(addr) = running.http_addr {
        crate::eprintln_lossy!("llmwatch: OTLP/HTTP listening on {addr}");
    }
    let exposed = [running.grpc_addr, running.http_addr]
        .into_iter()
        .flatten()
        .filter(|a| !a.ip().is_loopback())
        .count();
    if exposed > 0 && config.auth_token.is_none() {
        crate::eprintln_lossy!(
            "llmwatch: warning: listening on a non-loopback address without --auth-token; \
             anyone who can reach it can send data"
        );
    }

    let mut prev = StatusSample::take(&running.pipeline);
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + options.status_interval,
        options.status_interval,
    );
    let pipeline = running.pipeline.clone();
    let mut alerts = options
        .rules
        .map(|rules| Watcher::new(&pipeline, rules, EngineOptions::live()));
    let mut alert_tick = tokio::time::interval(ALERT_EVERY);
    let reason = loop {
        tokio::select! {
            r = signals.recv() => break r,
            _ = ticker.tick() => {
                let now = StatusSample::take(&running.pipeline);
                crate::eprintln_escaped!("llmwatch: {}", status_line(&prev, &now));
                prev = now;
            }
            _ = alert_tick.tick(), if alerts.is_some() => {
                if let Some(w) = &mut alerts {
                    print_events(w, |w| w.sync(&pipeline));
                }
            }
        }
    };
    crate::eprintln_escaped!("llmwatch: {reason}: stopping, storing what was accepted");
    let mut summary = running.stop().await;
    if let Some(w) = &mut alerts {
        print_events(w, |w| w.finish(&pipeline));
        crate::alert::fill_summary(&mut summary, &w.engine);
        // Commands started by the last alerts get their time.
        if let Some(ex) = w.engine.executor() {
            ex.wait(crate::alert::exec::TIMEOUT);
        }
    }
    summary
        .publish(options.summary_file.as_deref())
        .map_err(anyhow::Error::msg)?;
    Ok(summary)
}
