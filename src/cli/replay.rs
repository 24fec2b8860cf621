//! `llmwatch replay FILE...`: captures fed through the live pipeline at their recorded pace
//! (or faster), on the screen under its control (pause, speed), or headless with the summary
//! at the end.

use super::args::ReplayArgs;
use super::setup::{file_options, open_reviews, save_summary, setup, signal_flags, usage_error};
use crate::alert::{EngineOptions, RuleSet};
use crate::model::TraceIdPrefix;
use crate::replay::{ReplayControl, Speed};
use crate::report::ReportOptions;
use crate::ui::app::{App, Feed};
use crate::ui::baseline::BaselineRows;
use crate::ui::theme::Theme;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(args: ReplayArgs) -> ExitCode {
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
            let watched = crate::alert::check::replay(&options, rules, EngineOptions::replay(), |line| {
                crate::eprintln_escaped!("llmwatch: {line}")
            });
            match watched {
                Ok(o) => o.summary,
                Err(e) => return usage_error(e),
            }
        }
        // Without --spans, `run` writes only the summary, which `publish` prints (and saves).
        None => match crate::report::run_before_exit(&options, &mut std::io::sink()) {
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
    (theme, base): (Theme, Option<BaselineRows>),
    rules: Option<RuleSet>,
    summary: Option<&Path>,
    reviews: Option<&PathBuf>,
    open: Option<TraceIdPrefix>,
) -> ExitCode {
    options.status_every = None;
    // An unreadable file is said before the screen opens, not after it closes.
    for path in options.files.iter().filter(|p| p.as_os_str() != "-") {
        if let Err(e) = std::fs::File::open(path) {
            return usage_error(format!("cannot read {}: {e}", path.display()));
        }
    }
    let pipeline = crate::report::start_pipeline(&options);
    // Past reviews go in before the traffic, like a file read first.
    let reviews = match open_reviews(reviews, &pipeline, &options) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let control = Arc::new(ReplayControl::new(speed));
    let files = options
        .files
        .iter()
        .map(|f| crate::source::input_name(f))
        .collect();
    let feeder = {
        let (pipeline, control) = (pipeline.clone(), control.clone());
        std::thread::spawn(move || {
            let result = crate::report::feed_files(&options, &pipeline, Some(&control));
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
    let shown = crate::ui::run::run(app, stop);
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
