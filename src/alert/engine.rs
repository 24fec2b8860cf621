//! The rule engine: windows per (rule, condition, cohort) in event time, evaluated as the
//! clock passes each step, with firing and resolved states.
//!
//! Each rule's window is cut into about 60 buckets (`step = window / 60`, at least 1 s); a
//! window is evaluated once the newest event second is `settle` seconds past its end, so data
//! that arrives a little late (the root span of a trace, a verdict sent as a log) is in. A
//! trace's samples are kept so that when the trace changes they are taken out and put in again,
//! like the dashboard's series; eviction keeps them counted.

use super::exec::Executor;
use super::rules::{Condition, Metric, Rule, RuleSet};
use super::sample::{self, RawSample};
use crate::model::TraceId;
use crate::store::Trace;
use crate::store::follow::Follower;
use crate::view::hist::{Merged, SparseHist};
use foldhash::HashMap;
use std::collections::{BTreeMap, VecDeque};

/// Distinct cohort values per rule; later values share one "(other)" cohort.
pub const MAX_COHORTS: usize = 256;
/// Example traces kept per bucket and shown per alert.
const EXAMPLES: usize = 3;
/// State changes kept for the screen.
const MAX_EVENTS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// How far past a window's end the event clock must be before the window is evaluated.
    pub settle_secs: u64,
    /// Run rules' `exec` commands on fire.
    pub exec: bool,
}

impl EngineOptions {
    /// Watching traffic: windows are judged two seconds after they close; `exec` runs.
    pub fn live() -> Self {
        Self {
            settle_secs: 2,
            exec: true,
        }
    }

    /// `llmwatch check`: windows are judged ten minutes of event time after they close (or at
    /// the end of the input), so the verdict does not depend on how fast the files were read;
    /// nothing is executed.
    pub fn check() -> Self {
        Self {
            settle_secs: 600,
            exec: false,
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    n: u64,
    sum: f64,
    hist: SparseHist,
    /// The worst samples (by the rule's bad direction) and their traces.
    examples: Vec<(f64, TraceId)>,
}

#[derive(Debug)]
struct RuleState {
    step: u64,
    buckets: u64,
    cohorts: Vec<String>,
    ids: HashMap<String, u16>,
    /// (condition, cohort) → bucket index → bucket.
    series: HashMap<(u8, u16), BTreeMap<u64, Bucket>>,
    /// The next window to judge ends before this bucket; `None` until data arrives.
    next_end: Option<u64>,
}

impl RuleState {
    fn new(rule: &Rule) -> Self {
        let step = (rule.window_secs / 60).max(1);
        Self {
            step,
            buckets: rule.window_secs.div_ceil(step),
            cohorts: Vec::new(),
            ids: HashMap::default(),
            series: HashMap::default(),
            next_end: None,
        }
    }

    fn cohort(&mut self, value: Option<&str>) -> u16 {
        let value = value.unwrap_or("");
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let name = if self.cohorts.len() + 1 >= MAX_COHORTS {
            "(other)"
        } else {
            value
        };
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.cohorts.len() as u16;
        self.cohorts.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The first bucket at or after `from` that holds data, over all series.
    fn first_data_from(&self, from: u64) -> Option<u64> {
        self.series
            .values()
            .filter_map(|m| m.range(from..).next().map(|(b, _)| *b))
            .min()
    }
}

/// One trace's sample, kept to be taken out again.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rule: u16,
    cond: u8,
    cohort: u16,
    bucket: u64,
    value: f64,
}

/// A condition's value over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// `None` when the window held nothing to measure.
    pub value: Option<f64>,
    pub samples: u64,
}

/// A (rule, cohort) that has fired at least once: its state now and its first firing.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub rule: usize,
    /// The cohort value (`None` for a rule without `group_by`).
    pub cohort: Option<String>,
    pub firing: bool,
    /// Event second the current (or last) episode started.
    pub since: u64,
    pub resolved_at: Option<u64>,
    /// Per condition, at the last evaluation while firing.
    pub readings: Vec<Reading>,
    pub first_fired: u64,
    /// Per condition, when it first fired.
    pub first_readings: Vec<Reading>,
    pub episodes: u32,
    /// Traces from the window that fired it, worst first.
    pub examples: Vec<TraceId>,
}

/// A state change, in the order they happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub rule: usize,
    pub cohort: Option<String>,
    pub firing: bool,
    pub at: u64,
    pub readings: Vec<Reading>,
}

pub struct Engine {
    rules: Vec<Rule>,
    states: Vec<RuleState>,
    options: EngineOptions,
    contributions: HashMap<TraceId, Vec<Sample>>,
    newest: Option<u64>,
    max_second: Option<u64>,
    alerts: BTreeMap<(usize, u16), Alert>,
    events: VecDeque<Event>,
    /// Events not yet taken by [`Self::take_events`].
    unread: usize,
    dropped_seen: Option<u64>,
    scratch: Merged,
    executor: Option<Executor>,
}

impl Engine {
    pub fn new(set: RuleSet, options: EngineOptions) -> Self {
        let states = set.rules.iter().map(RuleState::new).collect();
        let executor = (options.exec && set.rules.iter().any(|r| r.exec.is_some())).then(Executor::default);
        Self {
            rules: set.rules,
            states,
            options,
            contributions: HashMap::default(),
            newest: None,
            max_second: None,
            alerts: BTreeMap::new(),
            events: VecDeque::new(),
            unread: 0,
            dropped_seen: None,
            scratch: Merged::default(),
            executor,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The newest event second seen: the rules' clock.
    pub fn clock(&self) -> Option<u64> {
        self.newest
    }

    pub fn executor(&self) -> Option<&Executor> {
        self.executor.as_ref()
    }

    /// Samples later than this (unix seconds) are not counted: the store's clock-skew guard.
    pub fn set_max_second(&mut self, max: Option<u64>) {
        self.max_second = max;
    }

    /// Every (rule, cohort) that has fired, firing ones first, then by rule order and cohort.
    pub fn alerts(&self) -> Vec<&Alert> {
        let mut all: Vec<&Alert> = self.alerts.values().collect();
        all.sort_by(|a, b| {
            b.firing
                .cmp(&a.firing)
                .then(a.rule.cmp(&b.rule))
                .then_with(|| a.cohort.cmp(&b.cohort))
        });
        all
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values().filter(|a| a.firing)
    }

    /// State changes since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        let n = self.unread.min(self.events.len());
        self.unread = 0;
        self.events.iter().skip(self.events.len() - n).cloned().collect()
    }

    /// The latest state changes, newest first.
    pub fn recent_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().rev()
    }

    /// Counts refused spans and logs for `dropped` rules: `total` is the running count.
    pub fn observe_dropped(&mut self, total: u64) {
        let before = self.dropped_seen.replace(total).unwrap_or(0);
        let delta = total.saturating_sub(before);
        let Some(now) = self.newest else { return };
        if delta == 0 {
            return;
        }
        for r in 0..self.rules.len() {
            for (ci, cond) in self.rules[r].conditions.iter().enumerate() {
                if cond.metric == Metric::Dropped {
                    let st = &mut self.states[r];
                    let cohort = st.cohort(None);
                    let s = Sample {
                        rule: r as u16,
                        cond: ci as u8,
                        cohort,
                        bucket: now / st.step,
                        value: delta as f64,
                    };
                    apply(st, cond, &s, None, true);
                    st.next_end.get_or_insert(s.bucket + 1);
                }
            }
        }
    }

    /// Judges every window whose end the event clock has passed by `settle_secs`.
    pub fn advance(&mut self) {
        if let Some(now) = self.newest {
            self.evaluate_until(now.saturating_sub(self.options.settle_secs), false);
        }
    }

    /// End of input: judges every window up to the newest second.
    pub fn finish(&mut self) {
        if let Some(now) = self.newest {
            self.evaluate_until(now, true);
        }
    }

    fn evaluate_until(&mut self, until: u64, inclusive: bool) {
        for r in 0..self.rules.len() {
            loop {
                let st = &self.states[r];
                let Some(end) = st.next_end else { break };
                // The window [end - buckets, end) in buckets; judged once `until` is past it.
                let last_second = end * st.step - 1;
                let due = if inclusive {
                    end * st.step <= until + st.step
                } else {
                    last_second < until
                };
                if !due {
                    break;
                }
                let lo = end.saturating_sub(st.buckets);
                let has_data = st.series.values().any(|m| m.range(lo..end).next().is_some());
                let firing = self.alerts.range((r, 0)..=(r, u16::MAX)).any(|(_, a)| a.firing);
                if !has_data && !firing {
                    // Nothing to judge until the next data: jump there.
                    match st.first_data_from(end) {
                        Some(b) => self.states[r].next_end = Some(b + 1),
                        None => break,
                    }
                    continue;
                }
                self.evaluate(r, end);
                let st = &mut self.states[r];
                st.next_end = Some(end + 1);
                // Buckets that no later window reads.
                let keep_from = (end + 1).saturating_sub(st.buckets);
                for m in st.series.values_mut() {
                    while let Some(e) = m.first_entry() {
                        if *e.key() >= keep_from {
                            break;
                        }
                        e.remove();
                    }
                }
                st.series.retain(|_, m| !m.is_empty());
            }
        }
    }

    /// Judges rule `r` over the window that ends before bucket `end`, for every cohort.
    fn evaluate(&mut self, r: usize, end: u64) {
        let rule = &self.rules[r];
        let st = &self.states[r];
        let lo = end.saturating_sub(st.buckets);
        let at = end * st.step;
        let mut changes = Vec::new();
        for cohort in 0..st.cohorts.len() as u16 {
            let mut readings = Vec::with_capacity(rule.conditions.len());
            let mut holds = true;
            for (ci, cond) in rule.conditions.iter().enumerate() {
                let series = st.series.get(&(ci as u8, cohort));
                let reading = read(cond, series, lo, end, rule.window_secs, &mut self.scratch);
                holds &= reading.samples >= cond.min_samples
                    && reading.value.is_some_and(|v| cond.op.holds(v, cond.threshold));
                readings.push(reading);
            }
            let was = self.alerts.get(&(r, cohort)).is_some_and(|a| a.firing);
            if holds || was {
                let examples = if holds {
                    examples(st, cohort, lo, end)
                } else {
                    Vec::new()
                };
                changes.push((cohort, holds, readings, examples));
            }
        }
        for (cohort, holds, readings, examples) in changes {
            let name = rule
                .group_by
                .is_some()
                .then(|| self.states[r].cohorts[cohort as usize].clone());
            let entry = self.alerts.entry((r, cohort));
            let alert = entry.or_insert_with(|| Alert {
                rule: r,
                cohort: name.clone(),
                firing: false,
                since: at,
                resolved_at: None,
                readings: readings.clone(),
                first_fired: at,
                first_readings: readings.clone(),
                episodes: 0,
                examples: Vec::new(),
            });
            let changed = alert.firing != holds;
            if holds {
                if changed {
                    alert.since = at;
                    alert.resolved_at = None;
                    alert.episodes += 1;
                }
                alert.readings = readings.clone();
                if !examples.is_empty() {
                    alert.examples = examples;
                }
            } else {
                alert.resolved_at = Some(at);
            }
            alert.firing = holds;
            if changed {
                let event = Event {
                    rule: r,
                    cohort: name,
                    firing: holds,
                    at,
                    readings,
                };
                if holds && let (Some(ex), Some(argv)) = (&self.executor, &rule.exec) {
                    ex.fire(argv, &super::alert_json(rule, alert));
                }
                if self.events.len() == MAX_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(event);
                self.unread = (self.unread + 1).min(MAX_EVENTS);
            }
        }
    }

    fn add(&mut self, trace: &Trace) -> Vec<Sample> {
        let mut raw: Vec<RawSample> = Vec::new();
        let mut kept = Vec::new();
        for r in 0..self.rules.len() {
            raw.clear();
            sample::samples(&self.rules[r], trace, &mut raw);
            let st = &mut self.states[r];
            for s in &raw {
                if self.max_second.is_some_and(|max| s.second > max) {
                    continue;
                }
                let cond = &self.rules[r].conditions[s.cond];
                let sample = Sample {
                    rule: r as u16,
                    cond: s.cond as u8,
                    cohort: st.cohort(s.cohort.as_deref()),
                    bucket: s.second / st.step,
                    value: s.value,
                };
                apply(st, cond, &sample, Some(trace.id), true);
                st.next_end.get_or_insert(sample.bucket + 1);
                kept.push(sample);
            }
        }
        kept
    }

    fn remove(&mut self, id: &TraceId, samples: &[Sample]) {
        for s in samples {
            let r = s.rule as usize;
            apply(
                &mut self.states[r],
                &self.rules[r].conditions[s.cond as usize],
                s,
                Some(*id),
                false,
            );
        }
    }
}

impl Follower for Engine {
    fn update(&mut self, trace: &Trace) {
        if self.rules.is_empty() {
            return;
        }
        if let Some(old) = self.contributions.remove(&trace.id) {
            self.remove(&trace.id, &old);
        }
        // The clock follows all traffic, whether or not a rule reads it.
        let end = trace.end_unix_nano / 1_000_000_000;
        if !trace.spans.is_empty() && self.max_second.is_none_or(|max| end <= max) {
            self.newest = Some(self.newest.map_or(end, |n| n.max(end)));
        }
        let new = self.add(trace);
        if !new.is_empty() {
            self.contributions.insert(trace.id, new);
        }
    }

    fn forget(&mut self, id: &TraceId) {
        self.contributions.remove(id);
    }

    /// The store is read again from scratch: windows restart; alert states stay.
    fn restart(&mut self) {
        self.contributions.clear();
        for st in &mut self.states {
            st.series.clear();
        }
    }
}

/// Adds or takes out one sample.
fn apply(st: &mut RuleState, cond: &Condition, s: &Sample, trace: Option<TraceId>, add: bool) {
    let key = (s.cond, s.cohort);
    let (op, quantile) = (
        cond.op,
        matches!(cond.metric, Metric::Latency(_) | Metric::Ttft(_)),
    );
    if add {
        let b = st.series.entry(key).or_default().entry(s.bucket).or_default();
        b.n += 1;
        b.sum += s.value;
        if quantile {
            b.hist.add(s.value.max(0.0) as u64);
        }
        if let Some(id) = trace
            && crosses(cond, s.value)
        {
            let bad = if op.high_is_bad() { s.value } else { -s.value };
            if b.examples.len() < EXAMPLES || b.examples.iter().any(|(v, _)| *v < bad) {
                b.examples.retain(|(_, t)| *t != id);
                b.examples.push((bad, id));
                b.examples.sort_by(|a, b| b.0.total_cmp(&a.0));
                b.examples.truncate(EXAMPLES);
            }
        }
        return;
    }
    let Some(m) = st.series.get_mut(&key) else { return };
    let Some(b) = m.get_mut(&s.bucket) else { return };
    b.n = b.n.saturating_sub(1);
    b.sum -= s.value;
    if quantile {
        b.hist.remove(s.value.max(0.0) as u64);
    }
    if let Some(id) = trace {
        b.examples.retain(|(_, t)| *t != id);
    }
    if b.n == 0 {
        m.remove(&s.bucket);
    }
}

/// Whether one sample is itself past the threshold (a trace worth showing as an example).
fn crosses(cond: &Condition, value: f64) -> bool {
    match cond.metric {
        // Durations are kept in µs, thresholds are in ms.
        Metric::Latency(_) | Metric::Ttft(_) => cond.op.holds(value / 1000.0, cond.threshold),
        Metric::SpansPerSecond | Metric::Dropped => true,
        _ => cond.op.holds(value, cond.threshold),
    }
}

/// A condition's value over buckets `lo..end` of one series.
fn read(
    cond: &Condition,
    series: Option<&BTreeMap<u64, Bucket>>,
    lo: u64,
    end: u64,
    window_secs: u64,
    scratch: &mut Merged,
) -> Reading {
    let Some(series) = series else {
        return Reading::default();
    };
    let (mut n, mut sum) = (0u64, 0.0);
    scratch.reset();
    for b in series.range(lo..end).map(|(_, b)| b) {
        n += b.n;
        sum += b.sum;
        if matches!(cond.metric, Metric::Latency(_) | Metric::Ttft(_)) {
            scratch.add(&b.hist);
        }
    }
    if n == 0 {
        return Reading::default();
    }
    let value = match cond.metric {
        Metric::Latency(q) | Metric::Ttft(q) => scratch.quantiles([q.q()]).map(|[v]| v as f64 / 1000.0),
        Metric::SpansPerSecond => Some(n as f64 / window_secs as f64),
        Metric::Dropped => Some(sum),
        _ => Some(sum / n as f64),
    };
    let samples = if cond.metric == Metric::Dropped {
        sum as u64
    } else {
        n
    };
    Reading { value, samples }
}

/// The worst traces of a cohort's window, over all conditions.
fn examples(st: &RuleState, cohort: u16, lo: u64, end: u64) -> Vec<TraceId> {
    let mut all: Vec<(f64, TraceId)> = st
        .series
        .iter()
        .filter(|((_, c), _)| *c == cohort)
        .flat_map(|(_, m)| m.range(lo..end).flat_map(|(_, b)| b.examples.iter().copied()))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<TraceId> = Vec::new();
    for (_, id) in all {
        if !out.contains(&id) {
            out.push(id);
        }
        if out.len() == EXAMPLES {
            break;
        }
    }
    out
}
