//! The bounded trace store: spans grouped by trace in arrival order, whole oldest traces evicted
//! when the span count or the memory estimate passes its limit, and per-second aggregates kept
//! as spans arrive.
//!
//! Eviction is failure-biased: a trace with a [`keep::KeepReason`] (an error, a failed verdict,
//! a slow call, a cost outlier, a person's verdict, an alert's example...) is *kept*, and plain
//! traces go first. Two FIFO queues hold the order (plain by arrival, kept by the time each
//! became kept); a trace moving from one to the other leaves a stale entry behind, skipped
//! (by its sequence number) when it reaches the front, and the queues are compacted when stale
//! entries outnumber live ones, so eviction stays O(1) amortised. Kept traces never hold more
//! than `keep_share` of either limit when something has to go: past it the oldest kept trace
//! goes first, so new traffic always has room.

pub mod changes;
pub mod follow;
pub mod histogram;
pub mod keep;
pub mod metrics;
pub mod outliers;
pub mod shape;
pub mod timeline;
pub mod totals;
pub mod trace;
pub mod tree;

/// The limits live in [`crate::config`], below the store, where the CLI splits its budget.
pub use crate::config::StoreLimits;
use crate::model::{LogRecord, SpanRecord, StatusCode, TraceId};
use crate::semconv::Verdict;
use foldhash::HashMap;
use histogram::LogHistogram;
use keep::KeepReason;
use std::collections::VecDeque;
use timeline::Timeline;
use totals::LlmTotals;
pub use trace::Trace;

/// Failure-biased retention for the summary: held traces per keep reason (a trace counted once
/// per reason it has) and whole traces evicted, plain and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RetentionStats {
    /// Indexed by `KeepReason as usize`.
    pub held_by_reason: [u64; KeepReason::ALL.len()],
    /// Held traces with at least one reason.
    pub kept_traces: u64,
    pub evicted_plain: u64,
    pub evicted_kept: u64,
    pub keep_share: f64,
}

impl RetentionStats {
    pub fn held(&self, r: KeepReason) -> u64 {
        self.held_by_reason[r as usize]
    }
}

/// Totals for the whole run (not just what is still held) plus what is held now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Spans filed (including ones that replaced a duplicate).
    pub spans_inserted: u64,
    /// Spans that replaced an earlier copy with the same trace and span id.
    pub spans_duplicate: u64,
    pub spans_evicted: u64,
    pub spans_held: u64,
    /// Spans with status ERROR (a re-sent span counts once).
    pub error_spans: u64,
    /// Traces that got a span with status ERROR (counted when the first one arrives).
    pub error_traces: u64,
    /// Traces created by a span (a trace evicted and seen again counts twice).
    pub traces_seen: u64,
    pub traces_evicted: u64,
    pub traces_held: u64,
    pub logs_inserted: u64,
    pub logs_evicted: u64,
    pub logs_held: u64,
    /// Estimated bytes held, including the timeline and bytes reported from outside (interner).
    pub bytes_held: u64,
}

#[derive(Debug)]
pub struct TraceStore {
    limits: StoreLimits,
    traces: HashMap<TraceId, Trace>,
    /// The most traces held at once (the table's size follows it: see `table_bytes`).
    traces_peak: usize,
    /// Plain traces (no keep reason) by first arrival, as (seq, id); an entry whose trace is
    /// gone or kept is stale. Traces only ever leave from the front.
    plain: VecDeque<(u64, TraceId)>,
    /// Kept traces in the order they became kept, as (seq, id); stale entries as in `plain`.
    kept: VecDeque<(u64, TraceId)>,
    /// Spans and bytes held by kept traces, for the share cap.
    kept_spans: u64,
    kept_bytes: usize,
    retention: RetentionStats,
    slow_calls: outliers::SlowCalls,
    cost_baselines: outliers::CostBaselines,
    /// Logs that name no trace, in arrival order with their sequence number.
    loose_logs: VecDeque<(u64, LogRecord)>,
    loose_log_bytes: usize,
    /// Every held log in arrival order (the logs view reads it newest first); entries whose
    /// log was evicted are skipped when read and dropped when the queue grows past twice the
    /// logs held.
    log_order: VecDeque<LogRef>,
    seq: u64,
    trace_bytes: usize,
    external_bytes: usize,
    timeline: Timeline,
    durations: LogHistogram,
    llm: LlmTotals,
    /// Trace shapes of evicted traces, per (route, model) (see [`Self::cohort_shapes`]).
    evicted_shapes: shape::CohortShapes,
    /// Held spans by `gen_ai.response.id`, to anchor verdicts that name only a response id.
    by_response_id: foldhash::HashMap<Box<str>, TraceId>,
    /// Verdicts naming only a response id whose span has not arrived, oldest first; bounded.
    unanchored: VecDeque<Verdict>,
    anchor_bytes: usize,
    /// When set, timestamps later than this (unix seconds) are kept but not bucketed.
    max_event_second: Option<u64>,
    /// Set while a reader (the dashboard) follows changes.
    changes: Option<changes::Changes>,
    stats: StoreStats,
}

impl TraceStore {
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            limits,
            traces: HashMap::default(),
            traces_peak: 0,
            plain: VecDeque::new(),
            kept: VecDeque::new(),
            kept_spans: 0,
            kept_bytes: 0,
            retention: RetentionStats {
                keep_share: limits.keep_share,
                ..RetentionStats::default()
            },
            slow_calls: outliers::SlowCalls::default(),
            cost_baselines: outliers::CostBaselines::with_rule(outliers::CostRule {
                floor_usd: limits.cost_floor_usd,
            }),
            loose_logs: VecDeque::new(),
            loose_log_bytes: 0,
            log_order: VecDeque::new(),
            seq: 0,
            trace_bytes: 0,
            external_bytes: 0,
            timeline: Timeline::default(),
            durations: LogHistogram::default(),
            llm: LlmTotals::default(),
            evicted_shapes: shape::CohortShapes::default(),
            by_response_id: foldhash::HashMap::default(),
            unanchored: VecDeque::new(),
            anchor_bytes: 0,
            max_event_second: None,
            changes: None,
            stats: StoreStats::default(),
        }
    }

    /// The cost-outlier rule of the `cost_outlier` keep reason (the outlier pane reads it
    /// from here, so both judge alike).
    pub fn cost_rule(&self) -> outliers::CostRule {
        self.cost_baselines.rule
    }

    pub fn set_cost_rule(&mut self, rule: outliers::CostRule) {
        self.cost_baselines.rule = rule;
    }

    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Live mode guards the timeline against skewed client clocks: event seconds after
    /// `second` are not bucketed. Replay leaves this unset.
    pub fn set_max_event_second(&mut self, second: Option<u64>) {
        self.max_event_second = second;
    }

    /// The latest event second bucketed (live mode's clock-skew guard), if any.
    pub fn max_event_second(&self) -> Option<u64> {
        self.max_event_second
    }

    /// Bytes held outside the store on its behalf (the interner), counted against the budget.
    pub fn set_external_bytes(&mut self, bytes: usize) {
        self.external_bytes = bytes;
    }

    pub fn bytes_held(&self) -> usize {
        self.trace_bytes
            + self.loose_log_bytes
            + self.table_bytes()
            + self.timeline.bytes()
            + self.slow_calls.bytes()
            + self.cost_baselines.bytes()
            + self.external_bytes
            + self.changes.as_ref().map_or(0, changes::Changes::bytes)
    }

    /// Starts (or restarts) logging which traces change, for a reader that keeps its own view.
    /// Every held trace counts as unseen until the reader calls [`Self::mark_seen`] on it (so
    /// one evicted before the reader got to it is handed over whole); after that, changes are
    /// drained with [`Self::take_changes`].
    pub fn track_changes(&mut self) {
        self.track_changes_limited(changes::MAX_ENTRIES);
    }

    /// [`Self::track_changes`] with a smaller bound on the log (tests).
    pub fn track_changes_limited(&mut self, limit: usize) {
        self.changes = Some(changes::Changes::with_limit(limit));
        for t in self.traces.values_mut() {
            t.dirty = true;
        }
    }

    /// Held trace ids, newest first arrival first. Sorts: O(n log n), for exports and tests.
    pub fn trace_ids_newest_first(&self) -> Vec<TraceId> {
        self.traces_newest_first().map(|t| t.id).collect()
    }

    /// The reader has seen this trace as it is now: its next change is logged.
    pub fn mark_seen(&mut self, id: &TraceId) {
        if let Some(t) = self.traces.get_mut(id) {
            t.dirty = false;
        }
    }

    /// Moves the changes since the last call into `out` (cleared first) and starts a new log.
    pub fn take_changes(&mut self, out: &mut changes::Changes) {
        out.clear();
        let Some(log) = &mut self.changes else { return };
        std::mem::swap(log, out);
        for id in &out.touched {
            if let Some(t) = self.traces.get_mut(id) {
                t.dirty = false;
            }
        }
        if out.overflow {
            for t in self.traces.values_mut() {
                t.dirty = false;
            }
        }
    }

    /// The trace table, the arrival queue and the loose-log queue, by their capacities: tables
    /// grow by doubling, so counting entries alone would miss up to half their size.
    fn table_bytes(&self) -> usize {
        // The trace table as it is when grown to the most traces held, by hashbrown's rule: one
        // control byte per bucket. Not its `capacity()`: with traces removed as others come, a
        // table grows or is rehashed in place depending on where the removed traces' hashes
        // fell, and they follow the hasher's random seed, so the estimate (and what is evicted
        // for it) would differ from one run of the same file to the next.
        table_buckets(self.traces_peak.max(self.traces.len())) * (size_of::<(TraceId, Trace)>() + 1)
            + (self.plain.capacity() + self.kept.capacity()) * size_of::<(u64, TraceId)>()
            + self.loose_logs.capacity() * size_of::<(u64, LogRecord)>()
            + self.log_order.capacity() * size_of::<LogRef>()
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            spans_held: self.stats.spans_inserted - self.stats.spans_duplicate - self.stats.spans_evicted,
            traces_held: self.traces.len() as u64,
            logs_held: self.stats.logs_inserted - self.stats.logs_evicted,
            bytes_held: self.bytes_held() as u64,
            ..self.stats
        }
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Whole-run LLM totals (calls, tokens, cost, per model, verdicts).
    pub fn llm_totals(&self) -> &LlmTotals {
        &self.llm
    }

    /// Whole-run trace shapes per (route, model): the evicted traces' and the held ones'.
    /// Reads every held trace: for the end of a run, not for every frame.
    pub fn cohort_shapes(&self) -> shape::CohortShapes {
        let mut all = self.evicted_shapes.clone();
        for t in self.traces.values() {
            all.add_trace(t);
        }
        all
    }

    /// Verdicts held whose target span has not arrived (yet).
    pub fn pending_verdicts(&self) -> u64 {
        self.unanchored.len() as u64 + self.pending_in_traces()
    }

    fn pending_in_traces(&self) -> u64 {
        self.traces
            .values()
            .map(|t| {
                t.verdicts
                    .iter()
                    .filter(|v| t.verdict_target(v).is_none())
                    .count() as u64
            })
            .sum()
    }

    /// Durations of every span filed this run.
    pub fn durations(&self) -> &LogHistogram {
        &self.durations
    }

    pub fn trace(&self, id: &TraceId) -> Option<&Trace> {
        self.traces.get(id)
    }

    /// Held traces whose id begins with `prefix`, in no order: looked up directly for a whole
    /// id, else by a pass over every held trace (for a person's jump, not for each frame).
    pub fn trace_ids_matching(&self, prefix: &crate::model::TraceIdPrefix) -> Vec<TraceId> {
        match prefix.whole() {
            Some(id) => self.traces.get(&id).map(|_| id).into_iter().collect(),
            None => self
                .traces
                .keys()
                .filter(|id| prefix.matches(id))
                .copied()
                .collect(),
        }
    }

    /// Held traces, newest first arrival first. Sorts: O(n log n), for exports and tests.
    pub fn traces_newest_first(&self) -> impl Iterator<Item = &Trace> {
        let mut all: Vec<&Trace> = self.traces.values().collect();
        all.sort_unstable_by_key(|t| std::cmp::Reverse(t.seq));
        all.into_iter()
    }

    /// Failure-biased retention so far.
    pub fn retention(&self) -> RetentionStats {
        self.retention
    }

    /// Keeps trace `id` for reason `r` (an alert's example, the review queue). Nothing happens
    /// for a trace not held.
    /// Keeps a held trace for `r` (and marks it changed, so the screen's rows see it); false
    /// when the trace is not held or already had that reason.
    pub fn keep(&mut self, id: TraceId, r: KeepReason) -> bool {
        self.add_reason(id, r)
    }

    /// Takes reason `r` back; a trace left with no reason is plain again (it joins the plain
    /// queue as if it had just arrived).
    pub fn unkeep(&mut self, id: TraceId, r: KeepReason) {
        let Some(t) = self.traces.get_mut(&id) else { return };
        if !t.kept.contains(r) {
            return;
        }
        t.kept.remove(r);
        self.retention.held_by_reason[r as usize] -= 1;
        if t.kept.is_empty() {
            self.plain.push_back((t.seq, id));
            self.retention.kept_traces -= 1;
            self.kept_spans -= t.spans.len() as u64;
            self.kept_bytes -= t.bytes;
        }
        Self::touch(&mut self.changes, t);
        self.compact_queues();
    }

    fn add_reason(&mut self, id: TraceId, r: KeepReason) -> bool {
        let Some(t) = self.traces.get_mut(&id) else {
            return false;
        };
        let was_plain = t.kept.is_empty();
        if !t.kept.insert(r) {
            return false;
        }
        self.retention.held_by_reason[r as usize] += 1;
        if was_plain {
            self.kept.push_back((t.seq, id));
            self.retention.kept_traces += 1;
            self.kept_spans += t.spans.len() as u64;
            self.kept_bytes += t.bytes;
        }
        Self::touch(&mut self.changes, t);
        self.compact_queues();
        true
    }

    /// Lists a changed trace in the change log (once until the reader sees it).
    fn touch(changes: &mut Option<changes::Changes>, t: &mut Trace) {
        if let Some(log) = changes
            && !t.dirty
        {
            t.dirty = true;
            log.push_touched(t.id);
        }
    }

    /// Drops stale queue entries once they outnumber the live ones: each compaction is paid for
    /// by as many pushes, so O(1) amortised.
    fn compact_queues(&mut self) {
        let kept = self.retention.kept_traces as usize;
        let plain = self.traces.len() - kept;
        let traces = &self.traces;
        if self.plain.len() > 2 * plain + 64 {
            self.plain
                .retain(|(seq, id)| traces.get(id).is_some_and(|t| t.seq == *seq && t.kept.is_empty()));
        }
        if self.kept.len() > 2 * kept + 64 {
            self.kept.retain(|(seq, id)| {
                traces
                    .get(id)
                    .is_some_and(|t| t.seq == *seq && !t.kept.is_empty())
            });
        }
    }

    /// Logs that name no trace, oldest first.
    pub fn loose_logs(&self) -> impl Iterator<Item = &LogRecord> {
        self.loose_logs.iter().map(|(_, l)| l)
    }

    fn trace_entry(&mut self, id: TraceId) -> &mut Trace {
        Self::entry_in(
            &mut self.traces,
            &mut self.seq,
            &mut self.plain,
            &mut self.changes,
            id,
        )
    }

    /// [`Self::trace_entry`] on the fields it needs, so the caller can use the others.
    fn entry_in<'a>(
        traces: &'a mut HashMap<TraceId, Trace>,
        seq: &mut u64,
        plain: &mut VecDeque<(u64, TraceId)>,
        changes: &mut Option<changes::Changes>,
        id: TraceId,
    ) -> &'a mut Trace {
        let trace = traces.entry(id).or_insert_with(|| {
            *seq += 1;
            plain.push_back((*seq, id));
            Trace::new(id, *seq)
        });
        Self::touch(changes, trace);
        trace
    }

    pub fn insert_spans(&mut self, spans: impl IntoIterator<Item = SpanRecord>) {
        for mut span in spans {
            // A wrapper whose call came in an earlier request (see `semconv::wrapper`).
            if let Some(trace) = self.traces.get(&span.trace_id)
                && span
                    .sem
                    .as_deref()
                    .is_some_and(|m| m.kind.is_model_call() && m.usage.is_none())
                && crate::semconv::wrapper::wraps_held(&span, &trace.spans, |id| trace.span(id))
                && let Some(sem) = span.sem.as_deref_mut()
            {
                sem.wrapper = true;
            }
            let second = span.end_unix_nano / 1_000_000_000;
            let micros = span.duration_nanos() / 1_000;
            let is_error = span.status == StatusCode::Error;
            let max_second = self.max_event_second;
            let slow = match span.sem.as_deref() {
                Some(m) if m.is_model_call() => m
                    .model()
                    .is_some_and(|model| self.slow_calls.observe(model, micros)),
                _ => false,
            };
            let priced = span.sem.as_deref().is_some_and(|m| m.cost_usd.is_some());

            let response_id = span.sem.as_deref().and_then(|m| m.response_id.clone());
            // Whole-run totals count a re-sent span once.
            let resent = self
                .traces
                .get(&span.trace_id)
                .is_some_and(|t| t.position(span.span_id).is_some());
            if !resent {
                self.llm.record_span(&span);
            }
            let trace = Self::entry_in(
                &mut self.traces,
                &mut self.seq,
                &mut self.plain,
                &mut self.changes,
                span.trace_id,
            );
            let before = trace.bytes;
            let first_span = trace.spans.is_empty();
            let trace_id = trace.id;
            let spans_before = trace.spans.len();
            let had_error = trace.error_spans > 0;
            let replaced = trace.upsert(span);
            let error_trace = !had_error && trace.error_spans > 0;
            trace.recompute_bytes();
            let after = trace.bytes;
            let added = (trace.spans.len() - spans_before) as u64;
            let was_kept = !trace.kept.is_empty();
            let outlier = priced
                && self.cost_baselines.observe(
                    trace.route.as_ref(),
                    trace_id,
                    &mut trace.cost_slot,
                    trace.cost_so_far,
                );
            self.trace_bytes = self.trace_bytes + after - before;
            if was_kept {
                self.kept_bytes = self.kept_bytes + after - before;
                self.kept_spans += added;
            }
            for (hit, reason) in [
                (is_error, KeepReason::Error),
                (slow, KeepReason::Slow),
                (outlier, KeepReason::CostOutlier),
            ] {
                if hit {
                    self.add_reason(trace_id, reason);
                }
            }

            self.stats.spans_inserted += 1;
            if let Some(old) = &replaced {
                self.stats.spans_duplicate += 1;
                self.stats.error_spans -= u64::from(old.status == StatusCode::Error);
            }
            self.stats.error_spans += u64::from(is_error);
            self.stats.error_traces += u64::from(error_trace);
            if first_span {
                self.stats.traces_seen += 1;
            }
            if let Some(rid) = response_id {
                self.anchor(rid, trace_id);
            }
            self.durations.record(micros);
            if let Some(bucket) = self.timeline.bucket_mut(second, max_second) {
                bucket.spans += 1;
                bucket.errors += u32::from(is_error);
                bucket.traces += u32::from(first_span);
                self.timeline.record_duration(second, micros);
            }
        }
        self.enforce_limits();
    }

    pub fn insert_logs(&mut self, logs: impl IntoIterator<Item = LogRecord>) {
        for log in logs {
            let second = log.event_time() / 1_000_000_000;
            let max_second = self.max_event_second;
            if let Some(bucket) = self.timeline.bucket_mut(second, max_second) {
                bucket.logs += 1;
            }
            self.stats.logs_inserted += 1;
            let n = self.stats.logs_inserted;
            match log.trace_id {
                Some(id) => {
                    let trace = self.trace_entry(id);
                    let before = trace.bytes;
                    trace.content_bytes += log.mem_bytes as usize;
                    let at = LogRef::InTrace {
                        n,
                        id,
                        trace_seq: trace.seq,
                        idx: u32::try_from(trace.logs.len()).unwrap_or(u32::MAX),
                    };
                    trace.logs.push(log);
                    trace.recompute_bytes();
                    let after = trace.bytes;
                    let kept = !trace.kept.is_empty();
                    self.trace_bytes = self.trace_bytes + after - before;
                    if kept {
                        self.kept_bytes = self.kept_bytes + after - before;
                    }
                    self.log_order.push_back(at);
                }
                None => {
                    self.seq += 1;
                    self.loose_log_bytes += log.mem_bytes as usize;
                    self.loose_logs.push_back((self.seq, log));
                    self.log_order.push_back(LogRef::Loose { n, seq: self.seq });
                }
            }
        }
        self.enforce_limits();
        self.compact_log_order();
    }

    /// Drops the log order's entries for evicted logs once they outnumber the held ones.
    fn compact_log_order(&mut self) {
        let held = (self.stats.logs_inserted - self.stats.logs_evicted) as usize;
        if self.log_order.len() > 2 * held + 64 {
            let mut order = std::mem::take(&mut self.log_order);
            order.retain(|r| self.resolve_log(r).is_some());
            self.log_order = order;
        }
    }

    fn resolve_log(&self, r: &LogRef) -> Option<&LogRecord> {
        match *r {
            LogRef::InTrace {
                id, trace_seq, idx, ..
            } => self
                .traces
                .get(&id)
                .filter(|t| t.seq == trace_seq)
                .and_then(|t| t.logs.get(idx as usize)),
            LogRef::Loose { seq, .. } => {
                let at = self.loose_logs.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
                self.loose_logs.get(at).map(|(_, l)| l)
            }
        }
    }

    /// Held logs, newest arrival first, each with its arrival number (1 for the first log
    /// ever inserted): the logs view's order.
    pub fn logs_newest_first(&self) -> impl Iterator<Item = (u64, &LogRecord)> {
        self.log_order
            .iter()
            .rev()
            .filter_map(|r| self.resolve_log(r).map(|l| (r.n(), l)))
    }

    /// Indexes a span's response id and files the verdicts that were waiting for it.
    fn anchor(&mut self, rid: Box<str>, trace_id: TraceId) {
        let waiting: Vec<Verdict> = if self
            .unanchored
            .iter()
            .any(|v| v.response_id.as_deref() == Some(&*rid))
        {
            let (matched, rest): (Vec<_>, Vec<_>) = self
                .unanchored
                .drain(..)
                .partition(|v| v.response_id.as_deref() == Some(&*rid));
            self.unanchored = rest.into();
            matched
        } else {
            Vec::new()
        };
        for v in &waiting {
            self.anchor_bytes -= unanchored_bytes(v);
        }
        let key_bytes = anchor_key_bytes(&rid);
        if self.by_response_id.insert(rid, trace_id).is_none() {
            self.anchor_bytes += key_bytes;
        }
        for mut v in waiting {
            v.trace_id = Some(trace_id);
            self.file_verdict(v);
        }
    }

    pub fn insert_verdicts(&mut self, verdicts: impl IntoIterator<Item = Verdict>) {
        let mut any = false;
        for mut v in verdicts {
            any = true;
            self.llm.record_verdict(&v);
            if v.trace_id.is_none() {
                let known = v
                    .response_id
                    .as_deref()
                    .and_then(|rid| self.by_response_id.get(rid))
                    .copied();
                match known {
                    Some(t) => v.trace_id = Some(t),
                    None => {
                        self.park(v);
                        continue;
                    }
                }
            }
            self.file_verdict(v);
        }
        if any {
            self.enforce_limits();
        }
    }

    /// Holds a verdict that names only a response id not seen yet. Bounded: the oldest waiting
    /// verdict is dropped (and counted as expired) past `MAX_UNANCHORED`.
    fn park(&mut self, v: Verdict) {
        if self.unanchored.len() >= MAX_UNANCHORED
            && let Some(old) = self.unanchored.pop_front()
        {
            self.anchor_bytes -= unanchored_bytes(&old);
            self.llm.verdicts_expired += 1;
        }
        self.anchor_bytes += unanchored_bytes(&v);
        self.unanchored.push_back(v);
    }

    fn file_verdict(&mut self, v: Verdict) {
        use crate::semconv::effective::{comparison, overridden_of};
        let Some(trace_id) = v.trace_id else { return };
        let reasons = keep::verdict_reasons(&v);
        let judged = {
            let trace = self.trace_entry(trace_id);
            let before = trace.bytes;
            trace.content_bytes += verdict_heap(&v);
            trace.has_human |= v.is_human();
            // The totals counted every verdict as it arrived; where a person judged the
            // subject, the overridden ones are taken back out and the agreement recounted (the
            // subject's standing before this verdict undone, after it applied).
            let judged = trace.has_human.then(|| {
                let undo = (
                    overridden_of(&trace.verdicts, &v),
                    comparison(&trace.verdicts, &v),
                );
                (undo, trace.verdicts.len())
            });
            trace.verdicts.push(v);
            let judged = judged.map(|(undo, at)| {
                let all = &trace.verdicts;
                let redo = (overridden_of(all, &all[at]), comparison(all, &all[at]));
                (undo, redo)
            });
            trace.recompute_bytes();
            let after = trace.bytes;
            let kept = !trace.kept.is_empty();
            self.trace_bytes = self.trace_bytes + after - before;
            if kept {
                self.kept_bytes = self.kept_bytes + after - before;
            }
            judged
        };
        if let Some(((gone, was), (now_gone, now))) = judged {
            self.llm.adjust_overrides(&gone, was.as_ref(), -1);
            self.llm.adjust_overrides(&now_gone, now.as_ref(), 1);
        }
        // A person looked at it, a verdict failed, a user complained: retention and the review
        // queue both need to know.
        for r in reasons.iter() {
            self.add_reason(trace_id, r);
        }
    }

    fn over_limits(&self) -> bool {
        self.stats.spans_inserted - self.stats.spans_duplicate - self.stats.spans_evicted
            > self.limits.max_spans as u64
            || self.bytes_held() > self.limits.max_bytes
    }

    /// Kept traces hold more than their share of either limit.
    fn kept_over_share(&self) -> bool {
        let share = self.limits.keep_share;
        self.kept_spans as f64 > share * self.limits.max_spans as f64
            || self.kept_bytes as f64 > share * self.limits.max_bytes as f64
    }

    /// The oldest live entry of a queue (stale ones are dropped on the way).
    fn front(
        traces: &HashMap<TraceId, Trace>,
        queue: &mut VecDeque<(u64, TraceId)>,
        kept: bool,
    ) -> Option<(u64, TraceId)> {
        while let Some(&(seq, id)) = queue.front() {
            if traces
                .get(&id)
                .is_some_and(|t| t.seq == seq && t.kept.is_empty() != kept)
            {
                return Some((seq, id));
            }
            queue.pop_front();
        }
        None
    }

    /// Evicts whole oldest items until both limits hold: plain traces and loose logs first
    /// (oldest first), then kept traces (oldest kept first), except that kept traces over
    /// their share go first.
    fn enforce_limits(&mut self) {
        while self.over_limits() {
            // The share check is two compares; the kept queue is only looked at when it matters.
            if self.kept_over_share()
                && let Some((_, id)) = Self::front(&self.traces, &mut self.kept, true)
            {
                self.kept.pop_front();
                self.evict_trace(id);
                continue;
            }
            let oldest_plain = Self::front(&self.traces, &mut self.plain, false);
            let oldest_log = self.loose_logs.front().map(|(seq, _)| *seq);
            match (oldest_plain, oldest_log) {
                (Some((t, _)), Some(l)) if l < t => self.evict_loose_log(),
                (Some((_, id)), _) => {
                    self.plain.pop_front();
                    self.evict_trace(id);
                }
                (None, Some(_)) => self.evict_loose_log(),
                (None, None) => match Self::front(&self.traces, &mut self.kept, true) {
                    Some((_, id)) => {
                        self.kept.pop_front();
                        self.evict_trace(id);
                    }
                    None => break,
                },
            }
        }
        self.compact_queues();
    }

    fn evict_trace(&mut self, id: TraceId) {
        // The most held is reached just before a removal (or now).
        self.traces_peak = self.traces_peak.max(self.traces.len());
        let Some(trace) = self.traces.remove(&id) else {
            return;
        };
        {
            self.trace_bytes -= trace.bytes;
            self.stats.spans_evicted += trace.spans.len() as u64;
            self.stats.logs_evicted += trace.logs.len() as u64;
            self.llm.verdicts_expired += trace
                .verdicts
                .iter()
                .filter(|v| trace.verdict_target(v).is_none())
                .count() as u64;
            let kept = !trace.kept.is_empty();
            if kept {
                self.retention.kept_traces -= 1;
                self.kept_spans -= trace.spans.len() as u64;
                self.kept_bytes -= trace.bytes;
                for r in trace.kept.iter() {
                    self.retention.held_by_reason[r as usize] -= 1;
                }
            }
            if !trace.spans.is_empty() {
                self.stats.traces_evicted += 1;
                if kept {
                    self.retention.evicted_kept += 1;
                } else {
                    self.retention.evicted_plain += 1;
                }
            }
            self.evicted_shapes.add_trace(&trace);
        }
        if let Some(log) = &mut self.changes {
            if trace.dirty {
                log.push_evicted_unseen(trace, self.limits.max_bytes / 32);
            } else {
                log.push_evicted(id);
            }
        }
    }

    fn evict_loose_log(&mut self) {
        if let Some((_, log)) = self.loose_logs.pop_front() {
            self.loose_log_bytes -= log.mem_bytes as usize;
            self.stats.logs_evicted += 1;
        }
    }
}

/// Where a held log is: in a trace (by the trace's arrival sequence, so a trace evicted and
/// seen again does not alias) or among the loose logs.
#[derive(Clone, Copy, Debug)]
enum LogRef {
    InTrace {
        n: u64,
        id: TraceId,
        trace_seq: u64,
        idx: u32,
    },
    Loose {
        n: u64,
        seq: u64,
    },
}

impl LogRef {
    fn n(&self) -> u64 {
        match *self {
            LogRef::InTrace { n, .. } | LogRef::Loose { n, .. } => n,
        }
    }
}

/// Most verdicts kept waiting for a response id that has not been seen.
const MAX_UNANCHORED: usize = 4096;

/// The buckets of a hashbrown table grown to hold `items`: 4 or 8 when small, else the next
/// power of two past 8/7 of them.
fn table_buckets(items: usize) -> usize {
    match items {
        0 => 0,
        1..4 => 4,
        4..8 => 8,
        _ => (items * 8 / 7).next_power_of_two(),
    }
}

fn anchor_key_bytes(rid: &str) -> usize {
    crate::intern::alloc_size(rid.len()) + size_of::<(Box<str>, TraceId)>() + 8
}

fn unanchored_bytes(v: &Verdict) -> usize {
    size_of::<Verdict>() + verdict_heap(v)
}

fn verdict_heap(v: &Verdict) -> usize {
    use crate::intern::{alloc_size, sym_heap_size};
    sym_heap_size(&v.name)
        + v.label.as_ref().map_or(0, sym_heap_size)
        + v.explanation.as_ref().map_or(0, |e| alloc_size(e.len()))
        + v.response_id.as_ref().map_or(0, |r| alloc_size(r.len()))
        + v.reviewer.as_ref().map_or(0, |r| alloc_size(r.len()))
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::intern::Sym;
    use crate::model::{Resource, Scope, SpanId, SpanKind, SpanRecord, StatusCode, TraceId};
    use std::sync::{Arc, OnceLock};

    fn shared() -> (Arc<Resource>, Sym) {
        static R: OnceLock<(Arc<Resource>, Sym)> = OnceLock::new();
        R.get_or_init(|| {
            let name: Sym = Arc::from("test");
            (
                Arc::new(Resource {
                    service: name.clone(),
                    attributes: Box::new([]),
                }),
                name,
            )
        })
        .clone()
    }

    /// A minimal span: trace `t`, span `id`, optional parent, starting at `start` seconds.
    pub fn span(t: u8, id: u8, parent: Option<u8>, start: u64) -> SpanRecord {
        let (resource, name) = shared();
        let start_unix_nano = 1_800_000_000_000_000_000 + start * 1_000_000_000;
        SpanRecord {
            trace_id: TraceId([t; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            start_unix_nano,
            end_unix_nano: start_unix_nano + 250_000_000,
            name: name.clone(),
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            status_message: None,
            flags: 0,
            resource,
            scope: Scope { name, version: None },
            attributes: Box::new([]),
            events: Box::new([]),
            links: Box::new([]),
            sem: None,
            mem_bytes: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::span;
    use super::*;
    use crate::model::SpanId;

    #[test]
    fn the_trace_table_is_counted_at_the_size_hashbrown_grows_it_to() {
        let mut table: HashMap<TraceId, Trace> = HashMap::default();
        for n in 0..5000u32 {
            let buckets = table_buckets(table.len());
            let capacity = if buckets < 8 {
                buckets.saturating_sub(1)
            } else {
                buckets / 8 * 7
            };
            assert_eq!(table.capacity(), capacity, "{} traces", table.len());
            let mut id = [0; 16];
            id[..4].copy_from_slice(&n.to_le_bytes());
            table.insert(TraceId(id), Trace::new(TraceId(id), 0));
        }
    }

    fn store(max_spans: usize, max_bytes: usize) -> TraceStore {
        TraceStore::new(StoreLimits {
            max_spans,
            max_bytes,
            keep_share: 0.5,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        })
    }

    fn span_in(trace: u32, id: u8, parent: Option<u8>, start: u64) -> SpanRecord {
        let mut s = span(0, id, parent, start);
        s.trace_id = TraceId([0; 16]);
        s.trace_id.0[..4].copy_from_slice(&trace.to_be_bytes());
        s.trace_id.0[15] = 1;
        s
    }

    fn judged(span: u8, name: &str, passed: bool, human: bool) -> Verdict {
        use crate::semconv::VerdictSource;
        Verdict {
            trace_id: Some(TraceId([1; 16])),
            target: Some(SpanId([span; 8])),
            response_id: None,
            name: std::sync::Arc::from(name),
            score: None,
            label: None,
            explanation: None,
            passed: Some(passed),
            source: if human {
                VerdictSource::Human
            } else {
                VerdictSource::SpanEvent
            },
            time_unix_nano: 0,
            reviewer: human.then(|| "alice".into()),
        }
    }

    /// (count, fail, reviewed, agreed, overridden_pass, overridden_fail) of `name`.
    fn row(st: &TraceStore, name: &str) -> (u64, u64, u64, u64, u64, u64) {
        let r = st.llm_totals().verdicts[name];
        let h = (
            r.human_reviewed,
            r.human_agreed,
            r.overridden_pass,
            r.overridden_fail,
        );
        (r.count, r.fail, h.0, h.1, h.2, h.3)
    }

    #[test]
    fn human_verdicts_override_the_judge_in_the_totals_in_any_order() {
        let mut st = store(1000, usize::MAX);
        st.insert_spans([
            span(1, 1, None, 0),
            span(1, 2, Some(1), 0),
            span(1, 3, Some(1), 0),
        ]);
        // Judge fails span 2, a person passes it (a false alarm); the judge fails span 3 alone.
        st.insert_verdicts([
            judged(2, "Groundedness", false, false),
            judged(3, "Groundedness", false, false),
        ]);
        st.insert_verdicts([judged(2, "groundedness", true, true)]);
        assert_eq!(row(&st, "Groundedness"), (1, 1, 1, 0, 1, 0));
        assert_eq!(row(&st, "groundedness"), (1, 0, 0, 0, 0, 0));
        // The person first, the judge after: a miss (the judge passed what the person failed).
        st.insert_verdicts([judged(3, "QA", false, true)]);
        st.insert_verdicts([judged(3, "QA", true, false)]);
        assert_eq!(row(&st, "QA"), (1, 1, 1, 0, 0, 1));
        // A re-review that agrees with the judge replaces the earlier review.
        st.insert_verdicts([judged(3, "QA", true, true)]);
        assert_eq!(row(&st, "QA"), (1, 0, 1, 1, 0, 0));
        let t = st.trace(&TraceId([1; 16])).unwrap();
        let effective: Vec<_> = t.effective_verdicts().map(|v| (&*v.name, v.is_human())).collect();
        assert_eq!(
            effective,
            [("Groundedness", false), ("groundedness", true), ("QA", true)]
        );
        assert!(t.is_overridden(0) && !t.is_overridden(1));
    }

    #[test]
    fn spans_of_a_trace_across_batches_and_out_of_order_assemble() {
        let mut st = store(1000, usize::MAX);
        st.insert_spans([span(1, 3, Some(2), 3), span(2, 1, None, 0)]);
        st.insert_spans([span(1, 2, Some(1), 2)]);
        // The root arrives "hours later" in event time terms.
        st.insert_spans([span(1, 1, None, 7200)]);
        let t = st.trace(&TraceId([1; 16])).unwrap();
        assert_eq!(t.spans.len(), 3);
        assert_eq!(t.root().unwrap().span_id, SpanId([1; 8]));
        let order: Vec<_> = t
            .tree()
            .iter()
            .map(|n| (t.spans[n.index].span_id.0[0], n.depth))
            .collect();
        assert_eq!(order, vec![(1, 0), (2, 1), (3, 2)]);
        let stats = st.stats();
        assert_eq!(
            (stats.spans_held, stats.traces_held, stats.traces_seen),
            (4, 2, 2)
        );
    }

    #[test]
    fn duplicate_span_ids_replace_rather_than_double_count() {
        let mut st = store(1000, usize::MAX);
        st.insert_spans([span(1, 1, None, 0)]);
        let mut again = span(1, 1, None, 0);
        again.status = StatusCode::Error;
        st.insert_spans([again]);
        let stats = st.stats();
        assert_eq!(
            (stats.spans_held, stats.spans_duplicate, stats.error_spans),
            (1, 1, 1)
        );
        assert_eq!(st.trace(&TraceId([1; 16])).unwrap().error_spans, 1);
    }

    #[test]
    fn eviction_by_count_removes_whole_oldest_traces() {
        let mut st = store(10, usize::MAX);
        for t in 0..20u32 {
            st.insert_spans((0..3).map(|i| span_in(t, i + 1, None, u64::from(t))));
        }
        let stats = st.stats();
        assert!(stats.spans_held <= 10);
        assert_eq!(stats.spans_held % 3, 0, "whole traces only");
        assert_eq!(stats.spans_held + stats.spans_evicted, 60);
        assert_eq!(stats.traces_evicted + stats.traces_held, 20);
        // The newest traces are the ones kept.
        let newest: Vec<u8> = st.traces_newest_first().map(|t| t.id.0[3]).collect();
        assert_eq!(newest, vec![19, 18, 17]);
    }

    #[test]
    fn eviction_by_bytes_keeps_the_estimate_under_budget_through_ten_times_the_budget() {
        let budget = 2 * 1024 * 1024;
        let mut st = store(usize::MAX, budget);
        let mut pushed = 0usize;
        let mut t = 0u32;
        while pushed < budget * 10 {
            let mut s = span_in(t, 1, None, 0);
            s.mem_bytes = 3_000;
            pushed += 3_000;
            st.insert_spans([s]);
            assert!(
                st.bytes_held() <= budget,
                "estimate {} over {budget}",
                st.bytes_held()
            );
            t += 1;
        }
        let stats = st.stats();
        assert!(stats.spans_evicted > 0);
        assert_eq!(stats.spans_held + stats.spans_evicted, u64::from(t));
    }

    #[test]
    fn logs_attach_to_their_trace_even_before_its_spans_and_loose_logs_are_bounded() {
        let mut st = store(usize::MAX, 2 * 1024 * 1024);
        let log = |trace: Option<TraceId>| LogRecord {
            trace_id: trace,
            span_id: None,
            time_unix_nano: 1_800_000_000_000_000_000,
            observed_unix_nano: 0,
            severity_number: 9,
            severity_text: None,
            event_name: None,
            body: crate::model::Value::Empty,
            resource: span(1, 1, None, 0).resource,
            scope: span(1, 1, None, 0).scope,
            attributes: Box::new([]),
            mem_bytes: 1_000,
        };
        st.insert_logs([log(Some(TraceId([7; 16])))]);
        st.insert_spans([span(7, 1, None, 0)]);
        let t = st.trace(&TraceId([7; 16])).unwrap();
        assert_eq!((t.logs.len(), t.spans.len()), (1, 1));
        assert_eq!(st.stats().traces_seen, 1);

        for _ in 0..10_000 {
            st.insert_logs([log(None)]);
        }
        let stats = st.stats();
        assert!(st.bytes_held() <= 2 * 1024 * 1024);
        assert!(stats.logs_evicted > 0);
        assert_eq!(stats.logs_held + stats.logs_evicted, 10_001);
        // The log order lists exactly the held logs, newest first, and stays bounded.
        let order: Vec<u64> = st.logs_newest_first().map(|(n, _)| n).collect();
        assert_eq!(order.len() as u64, stats.logs_held);
        assert_eq!(order.first(), Some(&10_001));
        assert!(order.windows(2).all(|w| w[0] > w[1]));
        assert!(st.log_order.len() as u64 <= 2 * stats.logs_held + 64);
        // Whatever is listed resolves to a held log.
        assert!(st.logs_newest_first().all(|(_, l)| l.mem_bytes == 1_000));
    }

    #[test]
    fn big_traces_switch_to_an_index_and_still_dedupe() {
        let mut st = store(usize::MAX, usize::MAX);
        let spans: Vec<_> = (0..200u8).map(|i| span(1, i.wrapping_add(1), None, 0)).collect();
        st.insert_spans(spans.clone());
        st.insert_spans(spans);
        let stats = st.stats();
        assert_eq!((stats.spans_held, stats.spans_duplicate), (200, 200));
        let t = st.trace(&TraceId([1; 16])).unwrap();
        assert!(t.span(SpanId([150; 8])).is_some());
    }

    #[test]
    fn keep_marks_a_held_trace_changed_once_per_new_reason() {
        use keep::KeepReason;
        let mut st = store(1000, usize::MAX);
        st.insert_spans([span(1, 1, None, 0)]);
        st.track_changes();
        let mut log = changes::Changes::default();
        st.take_changes(&mut log);
        for t in st.trace_ids_newest_first() {
            st.mark_seen(&t);
        }
        let id = TraceId([1; 16]);
        assert!(!st.keep(TraceId([9; 16]), KeepReason::Slow), "not held");
        assert!(st.keep(id, KeepReason::Slow));
        assert!(!st.keep(id, KeepReason::Slow), "already kept for that");
        st.take_changes(&mut log);
        assert_eq!(log.touched, vec![id]);
        // A human verdict keeps its trace too.
        st.insert_verdicts([Verdict {
            trace_id: Some(id),
            target: Some(SpanId([1; 8])),
            response_id: None,
            name: "human_review".into(),
            score: Some(0.0),
            label: None,
            explanation: None,
            passed: Some(false),
            source: crate::semconv::VerdictSource::Human,
            time_unix_nano: 0,
            reviewer: None,
        }]);
        let kept = st.trace(&id).unwrap().kept;
        assert!(kept.contains(KeepReason::Human) && kept.contains(KeepReason::Slow));
    }

    #[test]
    fn aggregates_are_bucketed_by_event_second() {
        let mut st = store(1000, usize::MAX);
        let mut err = span(1, 2, Some(1), 0);
        err.status = StatusCode::Error;
        st.insert_spans([span(1, 1, None, 0), err, span(2, 1, None, 5)]);
        let buckets: Vec<_> = st
            .timeline()
            .window(60)
            .map(|b| (b.spans, b.traces, b.errors))
            .collect();
        assert_eq!(buckets, vec![(2, 1, 1), (1, 1, 0)]);
        assert_eq!(st.durations().count(), 3);
        let p50 = st.durations().quantile(0.5).unwrap() as f64;
        assert!((p50 - 250_000.0).abs() / 250_000.0 < 0.0625, "{p50}");
    }
}

#[cfg(test)]
mod retention_tests {
    use super::keep::{KeepReason, KeepReasons};
    use super::test_support::span;
    use super::*;
    use crate::model::SpanId;
    use crate::semconv::{Kind, Semantics, VerdictSource};

    fn store(max_spans: usize, keep_share: f64) -> TraceStore {
        TraceStore::new(StoreLimits {
            max_spans,
            max_bytes: usize::MAX,
            keep_share,
            cost_floor_usd: outliers::DEFAULT_FLOOR_USD,
        })
    }

    fn tid(n: u32) -> TraceId {
        let mut t = TraceId([0; 16]);
        t.0[..4].copy_from_slice(&n.to_be_bytes());
        t.0[15] = 1;
        t
    }

    fn one(n: u32, error: bool) -> SpanRecord {
        let mut s = span(0, 1, None, u64::from(n));
        s.trace_id = tid(n);
        if error {
            s.status = StatusCode::Error;
        }
        s
    }

    /// A model call of `model` on `route` taking `millis`, costing `cost`.
    fn call(n: u32, model: &str, route: &str, millis: u64, cost: Option<f64>) -> SpanRecord {
        let mut s = one(n, false);
        s.end_unix_nano = s.start_unix_nano + millis * 1_000_000;
        s.sem = Some(Box::new(Semantics {
            kind: Kind::Llm,
            request_model: Some(model.into()),
            route: Some(route.into()),
            cost_usd: cost,
            ..Semantics::default()
        }));
        s
    }

    fn verdict(n: u32, name: &str, passed: Option<bool>, source: VerdictSource) -> Verdict {
        Verdict {
            trace_id: Some(tid(n)),
            target: Some(SpanId([1; 8])),
            response_id: None,
            name: name.into(),
            score: None,
            label: None,
            explanation: None,
            passed,
            source,
            time_unix_nano: 0,
            reviewer: None,
        }
    }

    fn held(st: &TraceStore) -> Vec<u32> {
        let mut ids: Vec<u32> = st
            .traces
            .keys()
            .map(|t| u32::from_be_bytes(t.0[..4].try_into().unwrap()))
            .collect();
        ids.sort_unstable();
        ids
    }

    fn reasons(st: &TraceStore, n: u32) -> KeepReasons {
        st.trace(&tid(n)).map_or(KeepReasons::NONE, |t| t.kept)
    }

    /// Every retention counter recomputed from the traces held, and the store's own counters.
    fn check(st: &TraceStore) {
        let r = st.retention();
        for reason in KeepReason::ALL {
            let n = st.traces.values().filter(|t| t.kept.contains(reason)).count() as u64;
            assert_eq!(r.held(reason), n, "{reason:?}");
        }
        let kept: Vec<&Trace> = st.traces.values().filter(|t| !t.kept.is_empty()).collect();
        assert_eq!(r.kept_traces, kept.len() as u64);
        assert_eq!(
            st.kept_spans,
            kept.iter().map(|t| t.spans.len() as u64).sum::<u64>()
        );
        assert_eq!(st.kept_bytes, kept.iter().map(|t| t.bytes).sum::<usize>());
        assert_eq!(st.trace_bytes, st.traces.values().map(|t| t.bytes).sum::<usize>());
        let s = st.stats();
        assert_eq!(s.traces_evicted, r.evicted_plain + r.evicted_kept);
        assert_eq!(
            s.spans_held,
            st.traces.values().map(|t| t.spans.len() as u64).sum::<u64>()
        );
        assert_eq!(
            s.spans_held + s.spans_evicted + s.spans_duplicate,
            s.spans_inserted
        );
        // Stale queue entries never outnumber live ones by much (O(1) amortised eviction).
        let plain = st.traces.len() - kept.len();
        assert!(
            st.plain.len() <= 2 * plain + 65,
            "{} plain entries for {plain}",
            st.plain.len()
        );
        assert!(
            st.kept.len() <= 2 * kept.len() + 65,
            "{} kept entries",
            st.kept.len()
        );
    }

    #[test]
    fn plain_traces_are_evicted_before_kept_ones_oldest_first() {
        let mut st = store(10, 0.5);
        st.insert_spans([one(0, true), one(1, false), one(2, true)]);
        for n in 3..30 {
            st.insert_spans([one(n, false)]);
            check(&st);
        }
        assert_eq!(held(&st), vec![0, 2, 22, 23, 24, 25, 26, 27, 28, 29]);
        assert_eq!(
            reasons(&st, 0).iter().collect::<Vec<_>>(),
            vec![KeepReason::Error]
        );
        let r = st.retention();
        assert_eq!(
            (r.held(KeepReason::Error), r.evicted_plain, r.evicted_kept),
            (2, 20, 0)
        );
        // Kept traffic past its share pushes out the oldest kept traces.
        for n in 30..40 {
            st.insert_spans([one(n, true)]);
        }
        assert_eq!(held(&st), vec![25, 26, 27, 28, 29, 35, 36, 37, 38, 39]);
        check(&st);
    }

    #[test]
    fn kept_traces_never_take_more_than_their_share_when_something_must_go() {
        let mut st = store(10, 0.5);
        for n in 0..20 {
            st.insert_spans([one(n, true)]);
        }
        // Only kept traffic so far: it may fill the store.
        assert_eq!(held(&st), (10..20).collect::<Vec<_>>());
        for n in 20..40 {
            st.insert_spans([one(n, false)]);
            check(&st);
        }
        // Past the share the oldest kept went first; then plain ones, oldest first.
        assert_eq!(held(&st), vec![15, 16, 17, 18, 19, 35, 36, 37, 38, 39]);
        let r = st.retention();
        assert_eq!((r.evicted_kept, r.evicted_plain), (15, 15));

        // Share 0: kept traces go first; share 1: plain ones always go first.
        let mut none = store(4, 0.0);
        let mut all = store(4, 1.0);
        for st in [&mut none, &mut all] {
            for n in 0..8 {
                st.insert_spans([one(n, n % 2 == 0)]);
                check(st);
            }
        }
        assert_eq!(held(&none), vec![1, 3, 5, 7]);
        assert_eq!(held(&all), vec![0, 2, 4, 6]);
    }

    #[test]
    fn the_share_applies_to_bytes_too() {
        let mut st = TraceStore::new(StoreLimits {
            max_spans: usize::MAX,
            max_bytes: 2 * 1024 * 1024,
            keep_share: 0.25,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        });
        for n in 0..2_000 {
            let mut s = one(n, n % 2 == 0);
            // One event second: the timeline's per-second histograms stay out of the way.
            (s.start_unix_nano, s.end_unix_nano) =
                (one(0, false).start_unix_nano, one(0, false).end_unix_nano);
            s.mem_bytes = 3_000;
            st.insert_spans([s]);
            assert!(st.bytes_held() <= 2 * 1024 * 1024, "{}", st.bytes_held());
        }
        check(&st);
        assert!(st.kept_bytes <= 2 * 1024 * 1024 / 4 + 4_000, "{}", st.kept_bytes);
        assert!(st.retention().evicted_kept > 0 && st.retention().evicted_plain > 0);
    }

    #[test]
    fn verdicts_keep_their_trace_for_failing_thumbs_down_human_and_slow() {
        use crate::eval::names::LATENCY_BUDGET;
        let mut st = store(1000, 0.5);
        for n in 0..6 {
            st.insert_spans([one(n, false)]);
        }
        st.insert_verdicts([
            verdict(0, "Groundedness", Some(false), VerdictSource::LogRecord),
            verdict(1, "Groundedness", Some(true), VerdictSource::LogRecord),
            verdict(2, "user_feedback", Some(false), VerdictSource::Human),
            verdict(3, "human_review", Some(true), VerdictSource::Human),
            verdict(4, LATENCY_BUDGET, Some(false), VerdictSource::Llmwatch),
            verdict(5, "json_valid", Some(true), VerdictSource::Llmwatch),
        ]);
        let names = |st: &TraceStore, n| reasons(st, n).iter().map(KeepReason::name).collect::<Vec<_>>();
        assert_eq!(names(&st, 0), ["failed_verdict"]);
        assert!(names(&st, 1).is_empty());
        assert_eq!(names(&st, 2), ["thumbs_down", "failed_verdict", "human"]);
        assert_eq!(names(&st, 3), ["human"]);
        assert_eq!(names(&st, 4), ["failed_verdict", "slow"]);
        assert!(names(&st, 5).is_empty());
        // A verdict that arrives before its trace's spans keeps it as well.
        st.insert_verdicts([verdict(99, "x", Some(false), VerdictSource::External)]);
        st.insert_spans([one(99, false)]);
        assert_eq!(names(&st, 99), ["failed_verdict"]);
        check(&st);
    }

    #[test]
    fn a_call_over_its_models_p99_and_a_cost_outlier_are_kept() {
        let mut st = store(100_000, 0.5);
        // 200 ordinary calls: 1 s, $0.01 each, on one route.
        for n in 0..200 {
            st.insert_spans([call(n, "m", "/chat", 1_000 + u64::from(n % 10), Some(0.01))]);
        }
        assert_eq!(st.retention().kept_traces, 0, "nothing stands out yet");
        st.insert_spans([call(1000, "m", "/chat", 9_000, Some(0.01))]);
        st.insert_spans([call(1001, "m", "/chat", 1_000, Some(0.2))]);
        // A second call brings a trace over the baseline later.
        st.insert_spans([call(1002, "m", "/chat", 1_000, Some(0.01))]);
        assert!(reasons(&st, 1002).is_empty());
        let mut second = call(1002, "m", "/chat", 1_000, Some(0.05));
        second.span_id = SpanId([2; 8]);
        st.insert_spans([second]);
        // Another model and another route have baselines of their own.
        st.insert_spans([call(1003, "other", "/other", 9_000, Some(0.2))]);
        assert_eq!(reasons(&st, 1000).iter().collect::<Vec<_>>(), [KeepReason::Slow]);
        assert_eq!(
            reasons(&st, 1001).iter().collect::<Vec<_>>(),
            [KeepReason::CostOutlier]
        );
        assert_eq!(
            reasons(&st, 1002).iter().collect::<Vec<_>>(),
            [KeepReason::CostOutlier]
        );
        assert!(reasons(&st, 1003).is_empty());
        check(&st);
    }

    #[test]
    fn keep_and_unkeep_from_outside_mark_the_trace_changed_and_move_it_between_queues() {
        let mut st = store(3, 0.5);
        st.track_changes();
        let mut log = changes::Changes::default();
        st.insert_spans([one(0, false), one(1, false), one(2, false)]);
        st.take_changes(&mut log);
        st.keep(tid(0), KeepReason::AlertExample);
        st.keep(tid(0), KeepReason::ReviewQueue);
        st.keep(tid(77), KeepReason::AlertExample); // not held: nothing happens
        st.take_changes(&mut log);
        assert_eq!(log.touched, vec![tid(0)]);
        assert_eq!(st.retention().kept_traces, 1);
        st.insert_spans([one(3, false)]);
        assert_eq!(
            held(&st),
            vec![0, 2, 3],
            "the alert's example outlived an older plain trace"
        );
        st.unkeep(tid(0), KeepReason::AlertExample);
        assert_eq!(
            reasons(&st, 0).iter().collect::<Vec<_>>(),
            [KeepReason::ReviewQueue]
        );
        st.unkeep(tid(0), KeepReason::ReviewQueue);
        st.take_changes(&mut log);
        assert!(log.touched.contains(&tid(0)));
        check(&st);
        // Plain again, it queues as the newest plain trace.
        st.insert_spans([one(4, false)]);
        assert_eq!(held(&st), vec![0, 3, 4]);
        st.insert_spans([one(5, false), one(6, false)]);
        assert_eq!(held(&st), vec![4, 5, 6]);
        check(&st);
    }

    #[test]
    fn stale_queue_entries_stay_bounded_under_a_flood_of_kept_traffic() {
        let mut st = store(100, 0.5);
        for n in 0..10 {
            st.insert_spans([one(n, false)]);
        }
        for n in 10..50_000 {
            st.insert_spans([one(n, true)]);
            if n % 997 == 0 {
                check(&st);
            }
        }
        check(&st);
        // The ten plain traces were never pushed out by kept ones under their share.
        assert!(held(&st).starts_with(&(0..10).collect::<Vec<_>>()));
        assert_eq!(st.retention().kept_traces, 90);
    }
}
