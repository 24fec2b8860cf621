//! External evaluators: `[[external]]` entries of the config file that run a command (an LLM
//! judge, a script, anything) on a share of the LLM calls and turn its answer into a
//! [`Verdict`] on the call's span, marked [`VerdictSource::External`].
//!
//! **Selection**, in the conversion path, per LLM call (`Kind::Llm`) and entry: the `route`
//! (exact, the trace's route as the request tells it) and `model` (requested or answering,
//! case-insensitive) filters first; then the call is taken when its span id falls in the
//! `sample` (a fixed hash of the id, so a replay samples the same calls as the live run, and a
//! smaller share is a subset of a larger one), or, whatever the sample, when `always` names
//! what it is: `error` (status ERROR), `slow` (longer than `slow_ms`, default the route's
//! `[builtin]` latency budget, else 10 s), `cost_outlier` (its cost is over
//! `cost_outlier_factor` (3) times the median of the last 101 priced calls of its model, once
//! there are 20).
//!
//! **Queue.** A chosen call (a copy of its span and its request's documents) waits in the
//! entry's bounded queue (`queue`, 256) for one of `concurrency` (2) workers. Receivers never
//! wait: a call that finds the queue full is dropped and counted (`queue_overflow`). Files
//! (`report`, `replay`) and the local demo wait for room instead, as they wait for the ingest
//! thread, so a report evaluates every chosen call.
//!
//! **A run**: the command (argv, no shell) starts in its own process group with one JSON object
//! on stdin; it must exit 0 within `timeout` (10 s) having printed one JSON object on stdout,
//! or the whole group is killed (`timed_out`). A non-zero exit, a signal or a program that
//! cannot start counts as `failed`; output that is not a JSON object with at least one of
//! `score` (number), `label` (string), `passed` (bool) as `bad_output`. Optional `name`
//! (default: the entry's) and `explanation`. Pass/fail: `passed` when given, else the label
//! (pass, fail, hallucinated, ...), else the score against the `[evaluators]` threshold.
//! Verdicts reach the store through the pipeline like the app's own, so they attach to their
//! span whichever arrives first. The first problem of each kind per entry is logged once.
//!
//! **Stdin**, one object per call:
//!
//! ```json
//! {"evaluator": "KeywordJudge", "selected_by": "sample|error|slow|cost_outlier",
//!  "trace_id": "32 hex", "span_id": "16 hex", "parent_span_id": "16 hex or null",
//!  "name": "chat gpt-4o", "service": "support-agent", "kind": "llm",
//!  "provider": "openai", "model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
//!  "route": "/support/chat", "tenant": "acme",
//!  "start_unix_nano": 1700000000000000000, "duration_ms": 812.5,
//!  "status": "ok|error|unset", "error": "message or null",
//!  "tokens": {"input": 0, "output": 0, "total": 0, "cache_read": 0, "cache_write": 0,
//!             "reasoning": 0},
//!  "cost_usd": 0.0012,
//!  "system": [MESSAGE], "input": [MESSAGE], "output": [MESSAGE],
//!  "context": [{"id": "doc-1", "content": "...", "score": 0.83}],
//!  "tool_results": [{"tool_call_id": "call_1", "content": "..."}],
//!  "attributes": {"gen_ai.request.model": "gpt-4o", "...": "..."}}
//! ```
//!
//! MESSAGE is `{"role", "content", "tool_calls": [{"id", "name", "arguments"}], "tool_call_id"}`.
//! Unknown values are null (`tokens`, `cost_usd`, `model`, ...) or empty lists. `context` holds
//! the documents of the retrieval spans of the same trace that came in the same export request;
//! `tool_results` the tool messages among the input. `attributes` are the span's scalar
//! attributes up to 4 KiB (longer ones are content, which the fields above carry), with
//! credential-looking values replaced by "[redacted]".
//!
//! **Exit.** Stopping waits up to the longest `timeout` for queued and running evaluations, then
//! kills what still runs; calls never evaluated are counted as `unfinished`. `report` and
//! headless `replay` first wait for the queues to drain (bounded by queue length × timeout), so
//! their summary includes every verdict.

pub mod config;
pub mod payload;
pub mod process;
pub mod select;

use crate::eval::config::BuiltinConfig;
use crate::intern::Sym;
use crate::model::record::{SpanRecord, StatusCode};
use crate::semconv::types::{Kind, Semantics, Verdict, VerdictSource};
use crate::semconv::verdicts::EvaluatorRules;
pub use config::ExternalConfig;
use config::{Always, DEFAULT_SLOW_MS};
use payload::Call;
use process::RunError;
use select::{CostMedians, Reason};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where verdicts go: the pipeline's hand-off. Returns false when it no longer takes any.
pub type Sink = Arc<dyn Fn(Vec<Verdict>) -> bool + Send + Sync>;

/// A chosen call for one entry, between selection and the entry's queue.
#[derive(Debug)]
pub struct Job {
    entry: usize,
    call: Call,
}

/// What happened to the calls chosen for an entry. After exit, `selected = evaluated + failed +
/// timed_out + bad_output + queue_overflow + unfinished`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Calls chosen (sampled or by `always`) and offered to the queue.
    pub selected: u64,
    /// Of those, chosen by `always` only (the sample alone would not have taken them).
    pub always: u64,
    /// Answered with a verdict.
    pub evaluated: u64,
    /// Non-zero exit, killed by a signal, or could not start.
    pub failed: u64,
    pub timed_out: u64,
    /// Exited 0 but did not print a usable verdict object.
    pub bad_output: u64,
    /// Dropped because the queue was full.
    pub queue_overflow: u64,
    /// Still queued or running when llmwatch stopped.
    pub unfinished: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Self) {
        self.selected += o.selected;
        self.always += o.always;
        self.evaluated += o.evaluated;
        self.failed += o.failed;
        self.timed_out += o.timed_out;
        self.bad_output += o.bad_output;
        self.queue_overflow += o.queue_overflow;
        self.unfinished += o.unfinished;
    }
}

/// One entry's counts, by name, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EvaluatorCounts {
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Default)]
struct AtomicCounts {
    selected: AtomicU64,
    always: AtomicU64,
    evaluated: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    bad_output: AtomicU64,
    queue_overflow: AtomicU64,
    unfinished: AtomicU64,
}

impl AtomicCounts {
    fn snapshot(&self) -> Counts {
        Counts {
            selected: self.selected.load(Relaxed),
            always: self.always.load(Relaxed),
            evaluated: self.evaluated.load(Relaxed),
            failed: self.failed.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            bad_output: self.bad_output.load(Relaxed),
            queue_overflow: self.queue_overflow.load(Relaxed),
            unfinished: self.unfinished.load(Relaxed),
        }
    }
}

/// Problems logged once per entry.
#[derive(Clone, Copy)]
enum Problem {
    Failed,
    TimedOut,
    BadOutput,
    Overflow,
}

#[derive(Debug, Default)]
struct Queue {
    calls: VecDeque<Call>,
    running: usize,
    closed: bool,
}

#[derive(Debug)]
struct Entry {
    config: ExternalConfig,
    name: Sym,
    timeout: Duration,
    always: Always,
    queue: Mutex<Queue>,
    /// Workers wait here for calls.
    work: Condvar,
    /// Signalled when a call leaves the queue or finishes: waiting submitters and drains.
    progress: Condvar,
    counts: AtomicCounts,
    logged: [AtomicBool; 4],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Entry {
    fn matches(&self, route: Option<&str>, sem: &Semantics) -> bool {
        if let Some(r) = &self.config.route
            && route != Some(r.as_str())
        {
            return false;
        }
        if let Some(m) = &self.config.model {
            let same = |x: Option<&Sym>| x.is_some_and(|x| x.eq_ignore_ascii_case(m));
            if !same(sem.request_model.as_ref()) && !same(sem.response_model.as_ref()) {
                return false;
            }
        }
        true
    }

    /// What "slow" means for a call of `route`.
    fn slow_ms(&self, builtin: &BuiltinConfig, route: Option<&str>) -> f64 {
        self.config
            .slow_ms
            .or_else(|| builtin.budget(route).and_then(|(_, b)| b.latency_ms))
            .unwrap_or(DEFAULT_SLOW_MS)
    }

    fn reason(
        &self,
        builtin: &BuiltinConfig,
        span: &SpanRecord,
        route: Option<&str>,
        cost_median: Option<f64>,
    ) -> Option<Reason> {
        if select::sampled(span.span_id, self.config.sample) {
            return Some(Reason::Sample);
        }
        let a = self.always;
        let sem = span.sem.as_deref()?;
        if a.error && span.status == StatusCode::Error {
            Some(Reason::Error)
        } else if a.slow && span.duration_nanos() as f64 / 1e6 > self.slow_ms(builtin, route) {
            Some(Reason::Slow)
        } else if a.cost_outlier
            && sem
                .cost_usd
                .is_some_and(|c| select::is_cost_outlier(c, cost_median, self.config.cost_outlier_factor()))
        {
            Some(Reason::CostOutlier)
        } else {
            None
        }
    }

    fn log_once(&self, problem: Problem, what: std::fmt::Arguments<'_>) {
        if !self.logged[problem as usize].swap(true, Relaxed) {
            crate::log!(
                "external evaluator {:?} {what}; later ones are only counted (external_evaluations in the summary)",
                &*self.name
            );
        }
    }
}

/// The `[[external]]` entries and their running state: queues, workers, counts. Shared by every
/// converter of a pipeline (through `SemconvConfig`) and by the pipeline, which starts the
/// workers and stops them.
pub struct ExternalEvaluators {
    entries: Vec<Entry>,
    rules: EvaluatorRules,
    /// Recent costs per model, when an entry asks for cost outliers.
    costs: Option<Mutex<CostMedians>>,
    sink: std::sync::OnceLock<Sink>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Set when stopping: running evaluations are killed.
    cancelled: AtomicBool,
    finished: AtomicBool,
}

impl std::fmt::Debug for ExternalEvaluators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.config))
            .finish()
    }
}

impl Default for ExternalEvaluators {
    fn default() -> Self {
        Self::new(Vec::new(), EvaluatorRules::default())
    }
}

impl ExternalEvaluators {
    /// Entries as configured (already validated); `rules` decide pass/fail from a score.
    pub fn new(configs: Vec<ExternalConfig>, rules: EvaluatorRules) -> Self {
        let entries: Vec<Entry> = configs
            .into_iter()
            .map(|config| Entry {
                name: Sym::from(config.name.as_str()),
                timeout: config.timeout(),
                always: config.always(),
                config,
                queue: Mutex::default(),
                work: Condvar::new(),
                progress: Condvar::new(),
                counts: AtomicCounts::default(),
                logged: Default::default(),
            })
            .collect();
        let costs = entries.iter().any(|e| e.always.cost_outlier).then(Mutex::default);
        Self {
            entries,
            rules,
            costs,
            sink: std::sync::OnceLock::new(),
            workers: Mutex::new(Vec::new()),
            cancelled: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// Whether any entry is configured.
    pub fn is_active(&self) -> bool {
        !self.entries.is_empty()
    }

    /// Chooses the LLM calls of one converted request that entries evaluate (see the module
    /// documentation) and appends a job for each (entry, call) to `out`.
    pub fn select(&self, builtin: &BuiltinConfig, spans: &[SpanRecord], out: &mut Vec<Job>) {
        let is_llm = |s: &&SpanRecord| s.sem.as_deref().is_some_and(|m| m.kind == Kind::Llm);
        if self.entries.is_empty() || !spans.iter().any(|s| is_llm(&s)) {
            return;
        }
        let routes = super::per_trace(spans, |m| m.route.as_ref());
        let tenants = super::per_trace(spans, |m| m.tenant.as_ref());
        let mut costs = self.costs.as_ref().map(lock);
        let first = out.len();
        for s in spans.iter().filter(is_llm) {
            let Some(sem) = s.sem.as_deref() else { continue };
            let route = routes.get(&s.trace_id).copied().or(sem.route.as_ref());
            let median = match (costs.as_deref_mut(), sem.cost_usd, sem.model()) {
                (Some(c), Some(cost), Some(model)) => c.median_then_record(model, cost),
                _ => None,
            };
            for (i, e) in self.entries.iter().enumerate() {
                if !e.matches(route.map(|r| &**r), sem) {
                    continue;
                }
                let Some(reason) = e.reason(builtin, s, route.map(|r| &**r), median) else {
                    continue;
                };
                out.push(Job {
                    entry: i,
                    call: Call {
                        span: s.clone(),
                        documents: Vec::new(),
                        route: route.cloned(),
                        tenant: tenants.get(&s.trace_id).copied().or(sem.tenant.as_ref()).cloned(),
                        reason,
                    },
                });
            }
        }
        if out.len() > first {
            let chosen = &mut out[first..];
            let docs =
                super::per_trace_documents(spans, |t| chosen.iter().any(|j| j.call.span.trace_id == t));
            for j in chosen {
                if let Some(d) = docs.get(&j.call.span.trace_id) {
                    j.call.documents = d.clone();
                }
            }
        }
    }

    /// Queues jobs (of accepted spans). With `wait` (files: no exporter to retry) a full queue
    /// is waited for; otherwise the job is dropped and counted at once.
    pub fn submit(&self, jobs: Vec<Job>, wait: bool) {
        for Job { entry, call } in jobs {
            let Some(e) = self.entries.get(entry) else {
                continue;
            };
            e.counts.selected.fetch_add(1, Relaxed);
            if call.reason != Reason::Sample {
                e.counts.always.fetch_add(1, Relaxed);
            }
            let mut q = lock(&e.queue);
            // Nobody would ever run it: no workers yet, or stopped.
            if q.closed || self.sink.get().is_none() {
                e.counts.unfinished.fetch_add(1, Relaxed);
                continue;
            }
            let cap = e.config.queue;
            while wait && q.calls.len() >= cap && !q.closed {
                q = e.progress.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.closed {
                e.counts.unfinished.fetch_add(1, Relaxed);
            } else if q.calls.len() >= cap {
                drop(q);
                e.counts.queue_overflow.fetch_add(1, Relaxed);
                e.log_once(
                    Problem::Overflow,
                    format_args!("is behind: its queue of {cap} is full and calls are dropped"),
                );
            } else {
                q.calls.push_back(call);
                drop(q);
                e.work.notify_one();
            }
        }
    }

    /// Starts the workers, which hand verdicts to `sink`. Once; later calls do nothing.
    pub fn start(self: &Arc<Self>, sink: Sink) {
        if self.sink.set(sink).is_err() {
            return;
        }
        let mut workers = lock(&self.workers);
        for (i, e) in self.entries.iter().enumerate() {
            for n in 0..e.config.concurrency {
                let this = self.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("llmwatch-eval-{i}-{n}"))
                    .spawn(move || this.work(i));
                match spawned {
                    Ok(h) => workers.push(h),
                    Err(err) => {
                        crate::log!("external evaluator {:?}: cannot start a worker: {err}", &*e.name)
                    }
                }
            }
        }
    }

    fn work(&self, index: usize) {
        let e = &self.entries[index];
        let Some(sink) = self.sink.get() else { return };
        loop {
            let call = {
                let mut q = lock(&e.queue);
                loop {
                    if q.closed {
                        return;
                    }
                    if let Some(c) = q.calls.pop_front() {
                        q.running += 1;
                        break c;
                    }
                    q = e.work.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            e.progress.notify_all();
            let result = self.evaluate(e, &call);
            let counter = match result {
                Ok(verdict) => {
                    if sink(vec![verdict]) {
                        &e.counts.evaluated
                    } else {
                        &e.counts.unfinished
                    }
                }
                Err(Failure::Run(RunError::Cancelled)) => &e.counts.unfinished,
                Err(Failure::Run(RunError::TimedOut)) => {
                    e.log_once(
                        Problem::TimedOut,
                        format_args!("timed out after {:?} on span {}", e.timeout, call.span.span_id),
                    );
                    &e.counts.timed_out
                }
                Err(Failure::Run(err)) => {
                    e.log_once(
                        Problem::Failed,
                        format_args!("failed on span {}: {err}", call.span.span_id),
                    );
                    &e.counts.failed
                }
                Err(Failure::Output(why)) => {
                    e.log_once(
                        Problem::BadOutput,
                        format_args!("gave no usable verdict on span {}: {why}", call.span.span_id),
                    );
                    &e.counts.bad_output
                }
            };
            counter.fetch_add(1, Relaxed);
            lock(&e.queue).running -= 1;
            e.progress.notify_all();
        }
    }

    /// One run: the payload in, the verdict out.
    fn evaluate(&self, e: &Entry, call: &Call) -> Result<Verdict, Failure> {
        let input = serde_json::to_vec(&payload::payload(&e.name, call)).unwrap_or_default();
        let out = process::run(&e.config.command, input, e.timeout, &self.cancelled).map_err(Failure::Run)?;
        if out.overflowed {
            return Err(Failure::Output(format!(
                "output is over {} bytes",
                process::MAX_STDOUT_BYTES
            )));
        }
        let answer = payload::parse_answer(&out.stdout).map_err(Failure::Output)?;
        let name = answer
            .name
            .map_or_else(|| e.name.clone(), |n| Sym::from(n.as_str()));
        let passed = answer
            .passed
            .or_else(|| self.rules.passed(&name, answer.score, answer.label.as_deref()));
        Ok(Verdict {
            trace_id: Some(call.span.trace_id),
            target: Some(call.span.span_id),
            response_id: None,
            name,
            score: answer.score,
            label: answer.label.map(|l| Sym::from(l.as_str())),
            explanation: answer.explanation.map(Into::into),
            passed,
            source: VerdictSource::External,
            time_unix_nano: call.span.end_unix_nano,
            reviewer: None,
        })
    }

    /// Waits until every queue is empty and nothing runs, or until `deadline`. True when idle.
    pub fn drain(&self, deadline: Instant) -> bool {
        for e in &self.entries {
            let mut q = lock(&e.queue);
            while !q.closed && (!q.calls.is_empty() || q.running > 0) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                q = e
                    .progress
                    .wait_timeout(q, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        true
    }

    /// Waits for everything queued to be evaluated: at most each entry's rounds of `timeout`
    /// (queued and running calls over `concurrency`, plus one), as every run ends by then.
    pub fn drain_all(&self) -> bool {
        if self.sink.get().is_none() {
            return true;
        }
        let bound: Duration = self
            .entries
            .iter()
            .map(|e| {
                let q = lock(&e.queue);
                let rounds = (q.calls.len() + q.running).div_ceil(e.config.concurrency) + 1;
                e.timeout * u32::try_from(rounds).unwrap_or(u32::MAX)
            })
            .sum();
        self.drain(Instant::now() + bound)
    }

    /// How long stopping waits for queued and running evaluations: the longest timeout.
    pub fn exit_grace(&self) -> Duration {
        self.entries.iter().map(|e| e.timeout).max().unwrap_or_default()
    }

    /// Waits up to `grace` for the queues to drain, then stops: what still runs is killed and
    /// what is queued dropped (both counted as unfinished). Returns when the workers are gone.
    pub fn finish(&self, grace: Duration) {
        if self.finished.swap(true, Relaxed) {
            return;
        }
        if self.sink.get().is_some() {
            self.drain(Instant::now() + grace);
        }
        self.close();
        let workers = std::mem::take(&mut *lock(&self.workers));
        for w in workers {
            let _ = w.join();
        }
        for e in &self.entries {
            let n = e.counts.unfinished.load(Relaxed);
            if n > 0 {
                crate::log!(
                    "external evaluator {:?}: {n} chosen calls were not evaluated before exit",
                    &*e.name
                );
            }
        }
    }

    /// Stops without waiting: workers kill what runs and exit; queued calls are dropped.
    pub fn close(&self) {
        self.cancelled.store(true, Relaxed);
        for e in &self.entries {
            let mut q = lock(&e.queue);
            if !q.closed {
                q.closed = true;
                e.counts.unfinished.fetch_add(q.calls.len() as u64, Relaxed);
                q.calls.clear();
            }
            drop(q);
            e.work.notify_all();
            e.progress.notify_all();
        }
    }

    /// Counts per entry, in config order.
    pub fn counts(&self) -> Vec<EvaluatorCounts> {
        self.entries
            .iter()
            .map(|e| EvaluatorCounts {
                name: e.name.to_string(),
                counts: e.counts.snapshot(),
            })
            .collect()
    }
}

#[derive(Debug)]
enum Failure {
    Run(RunError),
    Output(String),
}

#[cfg(test)]
mod tests;
