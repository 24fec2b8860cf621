//! `llmwatch demo`: the built-in agent traffic on the screen, headless (status lines, alerts,
//! the summary), or sent to another receiver with `--send`.

use super::args::DemoArgs;
use super::headless;
use super::setup::{file_options, open_reviews, save_summary, setup, signal_flags, usage_error};
use crate::alert::EngineOptions;
use crate::alert::check::Watcher;
use crate::demo::run::{self, DemoOptions};
use crate::ingest::send::Sender;
use crate::status::{StatusSample, status_line};
use crate::summary::Summary;
use crate::ui::app::{App, Feed};
use std::process::ExitCode;
use std::sync::Arc;

/// Rules over demo traffic: its event time runs at `--speed`, not with the wall clock.
fn demo_rules() -> EngineOptions {
    EngineOptions {
        wall_clock: false,
        ..EngineOptions::live()
    }
}

pub fn run(args: DemoArgs) -> ExitCode {
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
            let to =
                crate::cli::otel_env::resolve(send, |k| std::env::var(k).ok()).map_err(anyhow::Error::msg)?;
            let url = &to.url;
            let mut sender = Sender::connect_with(url, to.protocol, to.headers).await?;
            crate::eprintln_escaped!(
                "llmwatch: demo sending to {url} ({} spans/s, speed {})",
                args.rate,
                args.speed
            );
            while !stopped() {
                let Some(batch) = driver.next().await else { break };
                run::send(&mut sender, batch).await?;
            }
            crate::eprintln_lossy!("llmwatch: demo sent {} s of traffic", driver.seconds());
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
            let shown = tokio::task::block_in_place(|| crate::ui::run::run(app, stop.clone()));
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
                crate::eprintln_escaped!("llmwatch: DEMO | {}", status_line(&last.1, &now));
                last = (std::time::Instant::now(), now);
            }
        }
        if let Some(w) = &mut alerts {
            headless::print_events(w, |w| w.finish(&pipeline));
        }
        pipeline.shutdown();
        let mut summary = Summary::collect(&pipeline);
        if let Some(w) = &alerts {
            crate::alert::fill_summary(&mut summary, &w.engine);
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
