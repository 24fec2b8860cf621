//! Running rules over traffic without a screen: a [`Watcher`] follows a pipeline's store and
//! feeds the engine, and [`run`] is `llmwatch check FILE... --rules RULES.toml`: the files are
//! replayed at full speed through the live pipeline, the rules judged in event time, and each
//! alert that fired is one line.

use super::engine::{Engine, EngineOptions, Event};
use super::rules::RuleSet;
use crate::ingest::handoff::Pipeline;
use crate::report::{self, InputStats, ReportError, ReportOptions};
use crate::store::follow::Watch;
use crate::summary::Summary;
use crate::text::escape;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// How often a watcher looks at the store.
pub const EVERY: Duration = Duration::from_millis(50);

/// Keeps the example traces of the alerts that fired since the last call in the store, so they
/// outlive plain traffic (failure-biased retention).
pub fn keep_examples(engine: &mut Engine, pipeline: &Pipeline) {
    let ids = engine.take_new_examples();
    if ids.is_empty() {
        return;
    }
    let mut store = pipeline.store();
    for id in ids {
        store.keep(id, crate::store::keep::KeepReason::AlertExample);
    }
}

/// The alert engine fed from a pipeline's change log.
pub struct Watcher {
    watch: Watch,
    pub engine: Engine,
}

impl Watcher {
    /// Starts following `pipeline` (call before traffic arrives, so nothing is read twice).
    pub fn new(pipeline: &Pipeline, rules: RuleSet, options: EngineOptions) -> Self {
        let mut w = Self {
            watch: Watch::default(),
            engine: Engine::new(rules, options),
        };
        w.sync(pipeline);
        w
    }

    /// Takes in what changed, judges due windows, and returns the state changes.
    pub fn sync(&mut self, pipeline: &Pipeline) -> Vec<Event> {
        loop {
            let mut store = pipeline.store();
            self.engine.set_max_second(store.max_event_second());
            self.watch.sync(&mut store, &mut self.engine);
            drop(store);
            if !self.watch.rebuilding() {
                break;
            }
        }
        let c = &pipeline.counters;
        self.engine
            .observe_dropped(c.spans.dropped.load(Relaxed) + c.logs.dropped.load(Relaxed));
        self.engine.advance();
        keep_examples(&mut self.engine, pipeline);
        self.engine.take_events()
    }

    /// The end of the input: everything stored is taken in and every window judged.
    pub fn finish(&mut self, pipeline: &Pipeline) -> Vec<Event> {
        pipeline.flush();
        let mut events = self.sync(pipeline);
        self.engine.finish();
        keep_examples(&mut self.engine, pipeline);
        events.extend(self.engine.take_events());
        events
    }

    /// Warnings about the rules for the end of a run: conditions that saw no sample and
    /// `group_by` keys never found (likely typos), and samples that came too late.
    pub fn warnings(&self) -> Vec<String> {
        let e = &self.engine;
        let mut out: Vec<String> = e
            .unmatched()
            .into_iter()
            .map(|u| {
                let rule = &e.rules()[u.rule];
                match u.condition {
                    Some(i) if rule.conditions.len() > 1 => format!(
                        "rule {:?}: condition {} ({}) saw no samples; check its metric, evaluator, span_kind and where",
                        rule.name,
                        i + 1,
                        rule.conditions[i].metric.name()
                    ),
                    Some(_) => format!(
                        "rule {:?} saw no samples; check its metric, evaluator, span_kind and where",
                        rule.name
                    ),
                    None => format!(
                        "rule {:?}: no sample had the group_by key {:?}",
                        rule.name,
                        rule.group_by.as_ref().map(|k| k.to_string()).unwrap_or_default()
                    ),
                }
            })
            .collect();
        let late = e.late_samples();
        if late > 0 {
            out.push(format!(
                "{late} samples arrived after the windows they belong to were judged (counted in later windows only)"
            ));
        }
        out
    }

    /// Cohorts the baseline lacks, seen since the last call, as stderr lines (see
    /// [`super::new_cohort_line`]).
    pub fn new_cohort_lines(&mut self) -> Vec<String> {
        let new = self.engine.take_new_cohorts();
        let rules = self.engine.rules();
        new.into_iter()
            .map(|(r, c)| super::new_cohort_line(&rules[r], c.as_deref()))
            .collect()
    }

    /// A state change as a status line: `ALERT firing groundedness-drop route=/x value=0.55 <
    /// 0.75 at 10:03:12`.
    pub fn describe(&self, e: &Event) -> String {
        let rule = &self.engine.rules()[e.rule];
        // The cohort value came from a span: escaped so that it cannot act on the terminal
        // or end the line (the printing escapes the whole line again, harmlessly).
        let cohort = match (&rule.group_by, &e.cohort) {
            (Some(k), Some(v)) => format!(" {}={}", escape(&k.to_string()), escape(v)),
            _ => String::new(),
        };
        let state = if e.firing { "firing" } else { "resolved" };
        format!(
            "ALERT {state} {}{cohort} {} at {}",
            escape(&rule.name),
            super::comparison(rule, &e.readings),
            super::hms(e.at)
        )
    }
}

/// What `check` found.
pub struct Outcome {
    /// One line per fired alert (rule, cohort, value, threshold, first time), by first firing.
    pub lines: Vec<String>,
    /// See [`Watcher::warnings`].
    pub warnings: Vec<String>,
    /// Cohorts the baseline lacks (not judged), one line each.
    pub new_cohorts: Vec<String>,
    pub summary: Summary,
    pub input: InputStats,
}

impl Outcome {
    pub fn fired(&self) -> bool {
        !self.lines.is_empty()
    }
}

/// Replays `opts.files` at full speed through the pipeline with `rules` watching.
pub fn run(opts: &ReportOptions, rules: RuleSet) -> Result<Outcome, ReportError> {
    replay(opts, rules, EngineOptions::check(), |_| {})
}

/// Feeds `opts.files` (at `opts.speed`) through the pipeline with `rules` watching; each alert
/// state change is described to `on_event` as it happens.
pub fn replay(
    opts: &ReportOptions,
    rules: RuleSet,
    options: EngineOptions,
    mut on_event: impl FnMut(String),
) -> Result<Outcome, ReportError> {
    let pipeline = report::start_pipeline(opts);
    let mut watcher = Watcher::new(&pipeline, rules, options);
    let (mut new_cohorts, mut told) = (Vec::new(), 0);
    let feeder = {
        let (pipeline, opts) = (pipeline.clone(), opts.clone());
        std::thread::Builder::new()
            .name("llmwatch-replay-feed".into())
            .spawn(move || report::feed_files(&opts, &pipeline, None))
            .map_err(|e| ReportError::Read {
                path: "input".into(),
                source: e,
            })?
    };
    while !feeder.is_finished() {
        std::thread::sleep(EVERY);
        for e in watcher.sync(&pipeline) {
            on_event(watcher.describe(&e));
        }
        new_cohorts.extend(watcher.new_cohort_lines());
        for line in &new_cohorts[told..] {
            on_event(line.clone());
        }
        told = new_cohorts.len();
    }
    let input = feeder.join().map_err(|_| ReportError::Read {
        path: "input".into(),
        source: std::io::Error::other("the replay thread panicked"),
    })??;
    // Alerts on external evaluators' verdicts include what they answer on the last calls.
    pipeline.drain_external();
    for e in watcher.finish(&pipeline) {
        on_event(watcher.describe(&e));
    }
    new_cohorts.extend(watcher.new_cohort_lines());
    for line in &new_cohorts[told..] {
        on_event(line.clone());
    }
    pipeline.shutdown();
    let mut outcome = outcome(&pipeline, &watcher, input);
    outcome.new_cohorts = new_cohorts;
    Ok(outcome)
}

fn outcome(pipeline: &Arc<Pipeline>, watcher: &Watcher, input: InputStats) -> Outcome {
    let mut summary = Summary::collect(pipeline);
    summary.input = Some(input);
    super::fill_summary(&mut summary, &watcher.engine);
    Outcome {
        lines: summary.alerts.iter().map(|a| a.line.clone()).collect(),
        warnings: watcher.warnings(),
        new_cohorts: Vec::new(),
        summary,
        input,
    }
}
