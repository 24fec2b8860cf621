//! The rule engine: windows per (rule, condition, cohort) in event time, judged as the clock
//! passes each step, with firing and resolved states.
//!
//! Each rule's window is cut into about 60 buckets (`step = window / 60`, at least 1 s; the
//! window is rounded up to a whole number of steps). A window is judged once the rules' clock
//! is `settle` seconds past its end, so data that arrives a little late (the root span of a
//! trace, a verdict sent as a log) is in; a sample for a window not judged yet always counts
//! there, and one that arrives after its windows were judged still counts in later windows and
//! is counted as late. The clock is the third-highest trace end seen (one or two spans from a
//! broken clock cannot move it), and, watching live traffic, never ahead of the wall clock nor
//! more than [`MAX_LAG_SECS`] behind it (so silence is judged too). A trace's samples are kept
//! so that when the trace changes they are taken out and put in again, like the dashboard's
//! series; eviction keeps them counted.

use super::exec::Executor;
use super::rules::{Compare, Condition, Metric, Op, Rule, RuleSet};
use super::sample::{self, NO_VALUE, RawSample};
use super::state::Baseline;
pub use super::state::{Alert, Event, Reading, Unmatched};
use crate::model::TraceId;
use crate::store::Trace;
use crate::store::follow::Follower;
use crate::view::hist::{Merged, SparseHist};
use foldhash::HashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Distinct cohort values per rule; later values share one "(other)" cohort.
pub const MAX_COHORTS: usize = 256;
/// Example traces kept per bucket and shown per alert.
const EXAMPLES: usize = 3;
/// State changes kept for the screen.
const MAX_EVENTS: usize = 200;
/// Example ids held for the store between two syncs at most (a few per firing window).
const MAX_NEW_EXAMPLES: usize = 4096;
/// Watching live traffic, how far the rules' clock may fall behind the wall clock when traffic
/// stops (so a rule on a traffic drop can fire).
pub const MAX_LAG_SECS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// How far past a window's end the clock must be before the window is judged.
    pub settle_secs: u64,
    /// Run rules' `exec` commands on fire.
    pub exec: bool,
    /// Keep the clock within the wall clock (live traffic, not files).
    pub wall_clock: bool,
}

impl EngineOptions {
    /// Watching live traffic: windows are judged five seconds after they close (the
    /// OpenTelemetry SDKs' batch exporters send every five seconds); `exec` runs.
    pub fn live() -> Self {
        Self {
            settle_secs: 5,
            exec: true,
            wall_clock: true,
        }
    }

    /// Replaying files: as live, without the wall clock and without `exec` (a replay of past
    /// traffic pages nobody).
    pub fn replay() -> Self {
        Self {
            settle_secs: 5,
            exec: false,
            wall_clock: false,
        }
    }

    /// `llmwatch check`: windows are judged ten minutes of event time after they close (or at
    /// the end of the input), so the verdict does not depend on how fast the files were read;
    /// nothing is executed.
    pub fn check() -> Self {
        Self {
            settle_secs: 600,
            exec: false,
            wall_clock: false,
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    n: u64,
    sum: f64,
    /// Samples past the threshold themselves (exact quantile decisions).
    past: u64,
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
    /// Per cohort, per condition: the baseline's value for conditions that compare against
    /// it (`None`: not compared, or the baseline never had the cohort).
    base: Vec<Vec<Option<Reading>>>,
    /// (condition, cohort) → bucket index → bucket.
    series: HashMap<(u8, u16), BTreeMap<u64, Bucket>>,
    /// The next window to judge ends before this bucket; `None` until data arrives.
    next_end: Option<u64>,
    /// The end of the last window judged.
    judged: Option<u64>,
    /// The first bucket that ever held data (windows before it are not judged).
    first: Option<u64>,
    /// Samples per condition since start, and samples whose cohort had the group_by key.
    seen: Vec<u64>,
    keyed: u64,
    /// Samples that arrived after every window they belong to was judged.
    late: u64,
}

impl RuleState {
    fn new(rule: &Rule) -> Self {
        let step = (rule.window_secs / 60).max(1);
        Self {
            step,
            buckets: rule.window_secs.div_ceil(step),
            cohorts: Vec::new(),
            ids: HashMap::default(),
            base: Vec::new(),
            series: HashMap::default(),
            next_end: None,
            judged: None,
            first: None,
            seen: vec![0; rule.conditions.len()],
            keyed: 0,
            late: 0,
        }
    }

    /// The cohort's id, and whether it is new.
    fn cohort(&mut self, value: Option<&str>) -> (u16, bool) {
        let value = value.unwrap_or("");
        if let Some(id) = self.ids.get(value) {
            return (*id, false);
        }
        let name = if self.cohorts.len() + 1 >= MAX_COHORTS {
            "(other)"
        } else {
            value
        };
        if let Some(id) = self.ids.get(name) {
            return (*id, false);
        }
        let id = self.cohorts.len() as u16;
        self.cohorts.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        (id, true)
    }

    /// What condition `ci` of a cohort is held against: its threshold, or the threshold
    /// applied to the cohort's baseline value (`None`: not judged, the baseline lacks the
    /// cohort or has fewer than `min_samples` of it).
    fn limit(&self, ci: usize, cohort: u16, cond: &Condition) -> Option<f64> {
        let base = || {
            let b = self.base.get(cohort as usize)?.get(ci).copied().flatten()?;
            let enough = counts(cond.metric) || b.samples >= cond.min_samples;
            b.value.filter(|_| enough)
        };
        match cond.compare {
            Compare::Value => Some(cond.threshold),
            Compare::Baseline => base().map(|b| b * cond.threshold),
            Compare::BaselineDiff => base().map(|b| b + cond.threshold),
        }
    }

    /// A sample landed in `bucket`: windows not judged yet that hold it will be.
    fn schedule(&mut self, bucket: u64) {
        let floor = self.judged.map_or(0, |j| j + 1);
        let end = bucket + 1;
        self.next_end = Some(self.next_end.map_or(end, |n| n.min(end)).max(floor));
        self.first = Some(self.first.map_or(bucket, |f| f.min(bucket)));
        if self.judged.is_some_and(|j| bucket + self.buckets <= j) {
            self.late += 1;
        }
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

pub struct Engine {
    rules: Vec<Rule>,
    states: Vec<RuleState>,
    options: EngineOptions,
    contributions: HashMap<TraceId, Vec<Sample>>,
    /// The rules' clock: never goes back.
    newest: Option<u64>,
    /// The three traces that ended last (second, trace).
    top: Vec<(u64, TraceId)>,
    max_second: Option<u64>,
    alerts: BTreeMap<(usize, u16), Alert>,
    events: VecDeque<Event>,
    /// Events not yet taken by [`Self::take_events`].
    unread: usize,
    dropped_seen: Option<u64>,
    scratch: Merged,
    executor: Option<Executor>,
    baseline: Option<Arc<Baseline>>,
    /// (rule, cohort) seen by a rule comparing against the baseline that the baseline lacks:
    /// not judged; reported once each.
    new_cohorts: Vec<(usize, Option<String>)>,
    /// New cohorts not yet taken by [`Self::take_new_cohorts`].
    new_unread: usize,
    /// Example traces of windows judged since [`Self::take_new_examples`], for the store to keep.
    new_examples: Vec<TraceId>,
}

fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
            top: Vec::with_capacity(3),
            max_second: None,
            alerts: BTreeMap::new(),
            events: VecDeque::new(),
            unread: 0,
            dropped_seen: None,
            scratch: Merged::default(),
            executor,
            baseline: set.baseline,
            new_cohorts: Vec::new(),
            new_unread: 0,
            new_examples: Vec::new(),
        }
    }

    pub fn baseline(&self) -> Option<&Baseline> {
        self.baseline.as_deref()
    }

    /// Cohorts the baseline lacks, (rule, cohort value), in the order they were first seen.
    pub fn new_cohorts(&self) -> &[(usize, Option<String>)] {
        &self.new_cohorts
    }

    /// New cohorts since the last call.
    pub fn take_new_cohorts(&mut self) -> Vec<(usize, Option<String>)> {
        let from = self.new_cohorts.len() - self.new_unread;
        self.new_unread = 0;
        self.new_cohorts[from..].to_vec()
    }

    /// Rule `r`'s id for a cohort value; a new cohort gets its baseline values looked up, and
    /// is noted when the baseline lacks it for a condition that compares against it.
    fn cohort_id(&mut self, r: usize, value: Option<&str>) -> u16 {
        let st = &mut self.states[r];
        let (id, new) = st.cohort(value);
        if !new {
            return id;
        }
        let rule = &self.rules[r];
        let name = st.cohorts[id as usize].clone();
        let base: Vec<Option<Reading>> = rule
            .conditions
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let b = self.baseline.as_ref().filter(|_| c.compare.uses_baseline())?;
                b.get(r, ci, &name)
            })
            .collect();
        let lacking = rule
            .conditions
            .iter()
            .zip(&base)
            .any(|(c, b)| c.compare.uses_baseline() && b.is_none());
        st.base.push(base);
        if lacking {
            let cohort = rule.group_by.is_some().then_some(name);
            self.new_cohorts.push((r, cohort));
            self.new_unread += 1;
        }
        id
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn executor(&self) -> Option<&Executor> {
        self.executor.as_ref()
    }

    /// Samples later than this (unix seconds) are not counted: the store's clock-skew guard.
    pub fn set_max_second(&mut self, max: Option<u64>) {
        self.max_second = max;
    }

    /// Samples that arrived after every window they belong to had been judged.
    pub fn late_samples(&self) -> u64 {
        self.states.iter().map(|s| s.late).sum()
    }

    /// Conditions that never saw a sample and `group_by` keys never found: likely typos.
    pub fn unmatched(&self) -> Vec<Unmatched> {
        let mut out = Vec::new();
        for (r, st) in self.states.iter().enumerate() {
            for (i, n) in st.seen.iter().enumerate() {
                let count = matches!(self.rules[r].conditions[i].metric, Metric::Dropped);
                if *n == 0 && !count {
                    out.push(Unmatched {
                        rule: r,
                        condition: Some(i),
                    });
                }
            }
            if self.rules[r].group_by.is_some() && st.seen.iter().any(|n| *n > 0) && st.keyed == 0 {
                out.push(Unmatched {
                    rule: r,
                    condition: None,
                });
            }
        }
        out
    }

    /// How many (rule, cohort) pairs have fired.
    pub fn alert_count(&self) -> usize {
        self.alerts.len()
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

    /// State changes since the last call, in time order.
    /// The example traces of alerts that fired since the last call (failure-biased retention
    /// keeps them in the store); may repeat ids.
    pub fn take_new_examples(&mut self) -> Vec<TraceId> {
        std::mem::take(&mut self.new_examples)
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        let n = self.unread.min(self.events.len());
        self.unread = 0;
        let mut out: Vec<Event> = self.events.iter().skip(self.events.len() - n).cloned().collect();
        out.sort_by_key(|e| e.at);
        out
    }

    /// Counts refused spans and logs for `dropped` rules: `total` is the running count. Drops
    /// are placed at the rules' clock; before any traffic there is no clock, and they wait.
    pub fn observe_dropped(&mut self, total: u64) {
        let Some(now) = self.newest else { return };
        let before = self.dropped_seen.replace(total).unwrap_or(0);
        let delta = total.saturating_sub(before);
        if delta == 0 {
            return;
        }
        for r in 0..self.rules.len() {
            for (ci, cond) in self.rules[r].conditions.iter().enumerate() {
                if cond.metric == Metric::Dropped {
                    let cohort = self.states[r].cohort(None).0;
                    if self.states[r].base.len() <= cohort as usize {
                        self.states[r]
                            .base
                            .push(vec![None; self.rules[r].conditions.len()]);
                    }
                    let st = &mut self.states[r];
                    let s = Sample {
                        rule: r as u16,
                        cond: ci as u8,
                        cohort,
                        bucket: now / st.step,
                        value: delta as f64,
                    };
                    apply(st, cond, &s, None, true);
                    st.schedule(s.bucket);
                    st.seen[ci] += 1;
                }
            }
        }
    }

    /// The clock used for judging: live, kept within the wall clock.
    fn judging_clock(&self) -> Option<u64> {
        if !self.options.wall_clock {
            return self.newest;
        }
        let now = wall_now();
        let n = self.newest?;
        Some(n.max(now.saturating_sub(MAX_LAG_SECS)).min(now))
    }

    /// Judges every window whose end the clock has passed by `settle_secs`.
    pub fn advance(&mut self) {
        if let Some(now) = self.judging_clock() {
            self.evaluate_until(now.saturating_sub(self.options.settle_secs), false);
        }
    }

    /// End of input: judges every window up to the clock (with fewer than three traces, up to
    /// the earliest of them).
    pub fn finish(&mut self) {
        let clock = self
            .judging_clock()
            .or_else(|| self.top.iter().map(|(s, _)| *s).min());
        if let Some(now) = clock {
            self.evaluate_until(now, true);
        }
    }

    fn evaluate_until(&mut self, until: u64, inclusive: bool) {
        for r in 0..self.rules.len() {
            // A rule on low counts (a traffic drop) must judge empty windows too.
            let judges_silence = self.rules[r]
                .conditions
                .iter()
                .any(|c| counts(c.metric) && matches!(c.op, Op::Lt | Op::Le));
            loop {
                let st = &self.states[r];
                let Some(end) = st.next_end else { break };
                // The window is buckets [end - buckets, end); judged once `until` is past it
                // (at the end of input, once it has started).
                let due = if inclusive {
                    (end - 1) * st.step <= until
                } else {
                    end * st.step <= until
                };
                if !due {
                    break;
                }
                let lo = end.saturating_sub(st.buckets);
                let has_data = st.series.values().any(|m| m.range(lo..end).next().is_some());
                let firing = self.alerts.range((r, 0)..=(r, u16::MAX)).any(|(_, a)| a.firing);
                if !has_data && !firing && !judges_silence {
                    // Nothing to judge until the next data: jump there (a sample arriving for
                    // a bucket in between brings `next_end` back, see `schedule`).
                    match st.first_data_from(end) {
                        Some(b) => self.states[r].next_end = Some(b + 1),
                        None => break,
                    }
                    continue;
                }
                self.evaluate(r, end);
                let st = &mut self.states[r];
                st.judged = Some(end);
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
        // Seconds of the window since the rule's first data (rates over a short history).
        let covered = end.saturating_sub(st.first.unwrap_or(lo).max(lo)) * st.step;
        let mut changes = Vec::new();
        for cohort in 0..st.cohorts.len() as u16 {
            let mut readings = Vec::with_capacity(rule.conditions.len());
            let mut holds = true;
            for (ci, cond) in rule.conditions.iter().enumerate() {
                let series = st.series.get(&(ci as u8, cohort));
                let limit = st.limit(ci, cohort, cond);
                let (mut reading, ok) = read(cond, limit, series, lo, end, covered, &mut self.scratch);
                if cond.compare.uses_baseline() {
                    reading.baseline = st
                        .base
                        .get(cohort as usize)
                        .and_then(|b| b[ci])
                        .and_then(|b| b.value);
                }
                holds &= ok;
                readings.push(reading);
            }
            let was = self.alerts.get(&(r, cohort)).is_some_and(|a| a.firing);
            if holds || was {
                let examples = if holds {
                    examples(st, rule.conditions.len(), cohort, lo, end)
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
            let alert = self.alerts.entry((r, cohort)).or_insert_with(|| Alert {
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
                    if self.new_examples.len() < MAX_NEW_EXAMPLES {
                        self.new_examples.extend(&examples);
                    }
                    alert.examples = examples;
                }
            } else {
                alert.resolved_at = Some(at);
            }
            alert.firing = holds;
            if changed {
                if holds && let (Some(ex), Some(argv)) = (&self.executor, &rule.exec) {
                    ex.fire(argv, &super::format::alert_json(rule, alert));
                }
                if self.events.len() == MAX_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(Event {
                    rule: r,
                    cohort: name,
                    firing: holds,
                    at,
                    readings,
                });
                self.unread = (self.unread + 1).min(MAX_EVENTS);
            }
        }
    }

    /// Moves the clock with a trace's last end: the third-highest end seen, so one or two
    /// traces from a broken clock cannot move it (no clock before three traces).
    fn observe_end(&mut self, id: TraceId, end: u64) {
        if let Some(e) = self.top.iter_mut().find(|(_, t)| *t == id) {
            e.0 = e.0.max(end);
        } else if self.top.len() < 3 {
            self.top.push((end, id));
        } else if let Some(low) = self.top.iter_mut().min_by_key(|(s, _)| *s)
            && end > low.0
        {
            *low = (end, id);
        }
        if self.top.len() == 3 {
            let clock = self.top.iter().map(|(s, _)| *s).min().unwrap_or(end);
            self.newest = Some(self.newest.map_or(clock, |n| n.max(clock)));
        }
    }

    fn add(&mut self, trace: &Trace) -> Vec<Sample> {
        let mut raw: Vec<RawSample> = Vec::new();
        let mut kept = Vec::new();
        for r in 0..self.rules.len() {
            raw.clear();
            sample::samples(&self.rules[r], trace, &mut raw);
            for s in &raw {
                if self.max_second.is_some_and(|max| s.second > max) {
                    continue;
                }
                let cohort = self.cohort_id(r, s.cohort.as_deref());
                let st = &mut self.states[r];
                let cond = &self.rules[r].conditions[s.cond];
                st.seen[s.cond] += 1;
                if s.cohort.as_deref().is_some_and(|c| c != NO_VALUE) {
                    st.keyed += 1;
                }
                let sample = Sample {
                    rule: r as u16,
                    cond: s.cond as u8,
                    cohort,
                    bucket: s.second / st.step,
                    value: s.value,
                };
                apply(st, cond, &sample, Some(trace.id), true);
                st.schedule(sample.bucket);
                kept.push(sample);
            }
        }
        kept
    }

    fn remove(&mut self, id: &TraceId, samples: &[Sample]) {
        for s in samples {
            let r = s.rule as usize;
            let st = &mut self.states[r];
            st.seen[s.cond as usize] = st.seen[s.cond as usize].saturating_sub(1);
            apply(
                st,
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
            self.observe_end(trace.id, end);
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

/// Metrics that count arrivals: an empty window reads 0, and `min_samples` does not apply.
fn counts(m: Metric) -> bool {
    matches!(m, Metric::SpansPerSecond | Metric::Dropped)
}

fn is_quantile(m: Metric) -> bool {
    matches!(m, Metric::Latency(_) | Metric::Ttft(_))
}

/// Adds or takes out one sample.
fn apply(st: &mut RuleState, cond: &Condition, s: &Sample, trace: Option<TraceId>, add: bool) {
    let key = (s.cond, s.cohort);
    let past = crosses(cond, st.limit(s.cond as usize, s.cohort, cond), s.value);
    if add {
        let b = st.series.entry(key).or_default().entry(s.bucket).or_default();
        b.n += 1;
        b.sum += s.value;
        b.past += u64::from(past);
        if is_quantile(cond.metric) {
            b.hist.add(s.value.max(0.0) as u64);
        }
        if let Some(id) = trace
            && past
        {
            let bad = if cond.op.high_is_bad() { s.value } else { -s.value };
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
    b.past = b.past.saturating_sub(u64::from(past));
    if is_quantile(cond.metric) {
        b.hist.remove(s.value.max(0.0) as u64);
    }
    if let Some(id) = trace {
        b.examples.retain(|(_, t)| *t != id);
    }
    if b.n == 0 {
        m.remove(&s.bucket);
    }
}

/// Whether one sample is itself past the limit (a trace worth showing as an example, and
/// what exact quantile decisions count).
fn crosses(cond: &Condition, limit: Option<f64>, value: f64) -> bool {
    let Some(limit) = limit else { return false };
    match cond.metric {
        // Durations are kept in µs, thresholds are in ms.
        Metric::Latency(_) | Metric::Ttft(_) => cond.op.holds(value / 1000.0, limit),
        Metric::SpansPerSecond | Metric::Dropped => true,
        _ => cond.op.holds(value, limit),
    }
}

/// A condition's value over buckets `lo..end` of one series (`covered` seconds of it since the
/// rule's first data), and whether it is past `limit` there (never without a limit).
fn read(
    cond: &Condition,
    limit: Option<f64>,
    series: Option<&BTreeMap<u64, Bucket>>,
    lo: u64,
    end: u64,
    covered: u64,
    scratch: &mut Merged,
) -> (Reading, bool) {
    let (mut n, mut sum, mut past) = (0u64, 0.0, 0u64);
    scratch.reset();
    for b in series.into_iter().flat_map(|s| s.range(lo..end)).map(|(_, b)| b) {
        n += b.n;
        sum += b.sum;
        past += b.past;
        if is_quantile(cond.metric) {
            scratch.add(&b.hist);
        }
    }
    if counts(cond.metric) {
        let value = match cond.metric {
            Metric::Dropped => sum,
            _ => n as f64 / covered.max(1) as f64,
        };
        let samples = if cond.metric == Metric::Dropped {
            sum as u64
        } else {
            n
        };
        let reading = Reading {
            value: Some(value),
            samples,
            baseline: None,
        };
        return (reading, limit.is_some_and(|l| cond.op.holds(value, l)));
    }
    if n == 0 {
        return (Reading::default(), false);
    }
    let reading = Reading {
        value: match cond.metric {
            Metric::Latency(q) | Metric::Ttft(q) => scratch.quantiles([q.q()]).map(|[v]| v as f64 / 1000.0),
            _ => Some(sum / n as f64),
        },
        samples: n,
        baseline: None,
    };
    let Some(limit) = limit else {
        return (reading, false);
    };
    let holds = n >= cond.min_samples
        && match cond.metric {
            // Exact, from the samples past the threshold: the q-quantile (the value of rank
            // ceil(q·n)) is above the threshold when more than n - rank samples are, below it
            // when at least rank samples are. The histogram only gives the value shown.
            Metric::Latency(q) | Metric::Ttft(q) => {
                let rank = ((q.q() * n as f64).ceil() as u64).clamp(1, n);
                if cond.op.high_is_bad() {
                    past > n - rank
                } else {
                    past >= rank
                }
            }
            _ => reading.value.is_some_and(|v| cond.op.holds(v, limit)),
        };
    (reading, holds)
}

/// The worst traces of a cohort's window, a few per condition in turn.
fn examples(st: &RuleState, conditions: usize, cohort: u16, lo: u64, end: u64) -> Vec<TraceId> {
    let per: Vec<Vec<TraceId>> = (0..conditions)
        .map(|ci| {
            let mut all: Vec<(f64, TraceId)> = st
                .series
                .get(&(ci as u8, cohort))
                .into_iter()
                .flat_map(|m| m.range(lo..end).flat_map(|(_, b)| b.examples.iter().copied()))
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0));
            all.into_iter().map(|(_, id)| id).collect()
        })
        .collect();
    let mut out: Vec<TraceId> = Vec::new();
    for i in 0.. {
        if out.len() == EXAMPLES || per.iter().all(|p| i >= p.len()) {
            break;
        }
        for id in per.iter().filter_map(|p| p.get(i)) {
            if out.len() < EXAMPLES && !out.contains(id) {
                out.push(*id);
            }
        }
    }
    out
}
