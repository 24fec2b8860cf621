//! The bounded trace store: spans grouped by trace in arrival order, whole oldest traces evicted
//! when the span count or the memory estimate passes its limit, and per-second aggregates kept
//! as spans arrive.

pub mod changes;
pub mod follow;
pub mod histogram;
pub mod keep;
pub mod shape;
pub mod timeline;
pub mod totals;
pub mod tree;

use crate::model::{LogRecord, SpanId, SpanRecord, StatusCode, TraceId};
use crate::semconv::Verdict;
use foldhash::HashMap;
use histogram::LogHistogram;
use std::collections::VecDeque;
use timeline::Timeline;
use totals::LlmTotals;

/// Above this many spans a trace keeps a span-id index; below it a scan is cheaper.
const INDEX_THRESHOLD: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_spans: usize,
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        crate::config::split_budget(
            crate::config::DEFAULT_MAX_SPANS,
            crate::config::DEFAULT_MAX_MEMORY,
        )
        .0
    }
}

/// One trace as held: its spans in arrival order and the logs that point into it.
#[derive(Debug)]
pub struct Trace {
    pub id: TraceId,
    /// Arrival sequence of the first item; eviction order.
    pub seq: u64,
    pub spans: Vec<SpanRecord>,
    pub logs: Vec<LogRecord>,
    /// Verdicts about spans of this trace; a verdict whose target has not arrived waits here.
    pub verdicts: Vec<Verdict>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub error_spans: u32,
    /// Why this trace is kept longer than plain traffic (empty: a plain trace).
    pub kept: keep::KeepReasons,
    /// A person judged something in it: only then can a verdict be overridden.
    has_human: bool,
    /// Listed in the change log since the reader last drained it.
    dirty: bool,
    index: Option<HashMap<SpanId, u32>>,
    bytes: usize,
    content_bytes: usize,
}

impl Trace {
    fn new(id: TraceId, seq: u64) -> Self {
        Self {
            id,
            seq,
            spans: Vec::new(),
            logs: Vec::new(),
            verdicts: Vec::new(),
            start_unix_nano: u64::MAX,
            end_unix_nano: 0,
            error_spans: 0,
            kept: keep::KeepReasons::NONE,
            has_human: false,
            dirty: false,
            index: None,
            bytes: 0,
            content_bytes: 0,
        }
    }

    fn position(&self, id: SpanId) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&id).map(|i| *i as usize),
            None => self.spans.iter().position(|s| s.span_id == id),
        }
    }

    pub fn span(&self, id: SpanId) -> Option<&SpanRecord> {
        self.position(id).map(|i| &self.spans[i])
    }

    /// The root span, if it has arrived.
    pub fn root(&self) -> Option<&SpanRecord> {
        self.spans.iter().find(|s| s.parent_span_id.is_none())
    }

    /// The span a verdict is about: its target id, else the span with its response id.
    pub fn verdict_target(&self, v: &Verdict) -> Option<&SpanRecord> {
        if let Some(t) = v.target {
            return self.span(t);
        }
        let rid = v.response_id.as_deref()?;
        self.spans
            .iter()
            .find(|s| s.sem.as_deref().and_then(|m| m.response_id.as_deref()) == Some(rid))
    }

    /// The verdicts that decide pass/fail: a person's verdict sets aside the automatic ones on
    /// the same span and evaluator name ([`crate::semconv::effective`]).
    pub fn effective_verdicts(&self) -> impl Iterator<Item = &Verdict> {
        crate::semconv::effective::effective(&self.verdicts)
    }

    /// Whether the verdict at `i` is set aside by a person's verdict.
    pub fn is_overridden(&self, i: usize) -> bool {
        self.has_human && crate::semconv::effective::is_overridden(&self.verdicts, i)
    }

    /// Verdicts about `span`.
    pub fn verdicts_for<'a>(&'a self, span: &'a SpanRecord) -> impl Iterator<Item = &'a Verdict> {
        self.verdicts
            .iter()
            .filter(move |v| self.verdict_target(v).is_some_and(|t| t.span_id == span.span_id))
    }

    /// Cost of the trace: the sum over its spans (`None` when no span is priced).
    pub fn cost_usd(&self) -> Option<f64> {
        let mut costs = self
            .spans
            .iter()
            .filter_map(|s| s.sem.as_deref()?.cost_usd)
            .peekable();
        costs.peek()?;
        Some(costs.sum())
    }

    /// Depth-first tree of the spans held (orphans and cycles included, see [`tree::build`]).
    pub fn tree(&self) -> Vec<tree::TreeNode> {
        tree::build(&self.spans)
    }

    /// Estimated bytes held by this trace.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn recompute_bytes(&mut self) {
        let index = self
            .index
            .as_ref()
            .map_or(0, |m| m.capacity() * (size_of::<(SpanId, u32)>() + 1) + 64);
        // The trace's own slot is counted with the trace table (`TraceStore::table_bytes`).
        self.bytes = self.spans.capacity() * size_of::<SpanRecord>()
            + self.logs.capacity() * size_of::<LogRecord>()
            + self.verdicts.capacity() * size_of::<Verdict>()
            + index
            + self.content_bytes;
    }

    /// Adds or replaces (same span id: an exporter's retry) a span. Returns the replaced copy.
    fn upsert(&mut self, span: SpanRecord) -> Option<SpanRecord> {
        self.start_unix_nano = self.start_unix_nano.min(span.start_unix_nano);
        self.end_unix_nano = self.end_unix_nano.max(span.end_unix_nano);
        if span.status == StatusCode::Error {
            self.error_spans += 1;
        }
        self.content_bytes += span.mem_bytes as usize;
        if let Some(i) = self.position(span.span_id) {
            let old = std::mem::replace(&mut self.spans[i], span);
            self.content_bytes -= old.mem_bytes as usize;
            if old.status == StatusCode::Error {
                self.error_spans -= 1;
            }
            return Some(old);
        }
        let i = self.spans.len() as u32;
        if let Some(index) = &mut self.index {
            index.insert(span.span_id, i);
        }
        self.spans.push(span);
        if self.index.is_none() && self.spans.len() > INDEX_THRESHOLD {
            self.index = Some(
                self.spans
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.span_id, i as u32))
                    .collect(),
            );
        }
        None
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
    /// Trace ids in first-arrival order. Traces only ever leave from the front.
    order: VecDeque<TraceId>,
    /// Logs that name no trace, in arrival order with their sequence number.
    loose_logs: VecDeque<(u64, LogRecord)>,
    loose_log_bytes: usize,
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
            order: VecDeque::new(),
            loose_logs: VecDeque::new(),
            loose_log_bytes: 0,
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

    /// Held trace ids, newest first arrival first.
    pub fn trace_ids_newest_first(&self) -> Vec<TraceId> {
        self.order.iter().rev().copied().collect()
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
        // hashbrown: one control byte per bucket, buckets ≈ capacity * 8/7.
        self.traces.capacity() * 8 / 7 * (size_of::<(TraceId, Trace)>() + 1)
            + self.order.capacity() * size_of::<TraceId>()
            + self.loose_logs.capacity() * size_of::<(u64, LogRecord)>()
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

    /// Held traces, newest first arrival first.
    pub fn traces_newest_first(&self) -> impl Iterator<Item = &Trace> {
        self.order.iter().rev().filter_map(|id| self.traces.get(id))
    }

    /// Logs that name no trace, oldest first.
    pub fn loose_logs(&self) -> impl Iterator<Item = &LogRecord> {
        self.loose_logs.iter().map(|(_, l)| l)
    }

    fn trace_entry(&mut self, id: TraceId) -> &mut Trace {
        let seq = &mut self.seq;
        let order = &mut self.order;
        let trace = self.traces.entry(id).or_insert_with(|| {
            *seq += 1;
            order.push_back(id);
            Trace::new(id, *seq)
        });
        if let Some(log) = &mut self.changes
            && !trace.dirty
        {
            trace.dirty = true;
            log.push_touched(id);
        }
        trace
    }

    pub fn insert_spans(&mut self, spans: impl IntoIterator<Item = SpanRecord>) {
        for span in spans {
            let second = span.end_unix_nano / 1_000_000_000;
            let micros = span.duration_nanos() / 1_000;
            let is_error = span.status == StatusCode::Error;
            let max_second = self.max_event_second;

            let response_id = span.sem.as_deref().and_then(|m| m.response_id.clone());
            // Whole-run totals count a re-sent span once.
            let resent = self
                .traces
                .get(&span.trace_id)
                .is_some_and(|t| t.position(span.span_id).is_some());
            if !resent {
                self.llm.record_span(&span);
            }
            let trace = self.trace_entry(span.trace_id);
            let before = trace.bytes;
            let first_span = trace.spans.is_empty();
            let trace_id = trace.id;
            let replaced = trace.upsert(span);
            trace.recompute_bytes();
            let after = trace.bytes;
            self.trace_bytes = self.trace_bytes + after - before;

            self.stats.spans_inserted += 1;
            if let Some(old) = &replaced {
                self.stats.spans_duplicate += 1;
                self.stats.error_spans -= u64::from(old.status == StatusCode::Error);
            }
            self.stats.error_spans += u64::from(is_error);
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
            match log.trace_id {
                Some(id) => {
                    let trace = self.trace_entry(id);
                    let before = trace.bytes;
                    trace.content_bytes += log.mem_bytes as usize;
                    trace.logs.push(log);
                    trace.recompute_bytes();
                    let after = trace.bytes;
                    self.trace_bytes = self.trace_bytes + after - before;
                }
                None => {
                    self.seq += 1;
                    self.loose_log_bytes += log.mem_bytes as usize;
                    self.loose_logs.push_back((self.seq, log));
                }
            }
        }
        self.enforce_limits();
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

    /// Marks a held trace as kept for `reason` (and changed, so the screen's rows see it).
    /// Returns false when the trace is not held or already had that reason.
    pub fn keep(&mut self, id: &TraceId, reason: keep::KeepReason) -> bool {
        let Some(trace) = self.traces.get_mut(id) else {
            return false;
        };
        if !trace.kept.insert(reason) {
            return false;
        }
        if let Some(log) = &mut self.changes
            && !trace.dirty
        {
            trace.dirty = true;
            log.push_touched(*id);
        }
        true
    }

    fn file_verdict(&mut self, v: Verdict) {
        use crate::semconv::effective::{comparison, overridden_of};
        let Some(trace_id) = v.trace_id else { return };
        let trace = self.trace_entry(trace_id);
        let before = trace.bytes;
        trace.content_bytes += verdict_heap(&v);
        trace.has_human |= v.is_human();
        // A person looked at it: retention and the review queue both need to know.
        if v.is_human() {
            trace.kept.insert(keep::KeepReason::Human);
        }
        // The totals counted every verdict as it arrived; where a person judged the subject,
        // the overridden ones are taken back out and the agreement recounted (the subject's
        // standing before this verdict undone, after it applied).
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
        self.trace_bytes = self.trace_bytes + after - before;
        if let Some(((gone, was), (now_gone, now))) = judged {
            self.llm.adjust_overrides(&gone, was.as_ref(), -1);
            self.llm.adjust_overrides(&now_gone, now.as_ref(), 1);
        }
    }

    fn over_limits(&self) -> bool {
        self.stats.spans_inserted - self.stats.spans_duplicate - self.stats.spans_evicted
            > self.limits.max_spans as u64
            || self.bytes_held() > self.limits.max_bytes
    }

    /// Evicts whole oldest items (a trace, or a loose log) until both limits hold.
    fn enforce_limits(&mut self) {
        while self.over_limits() {
            let oldest_trace = self
                .order
                .front()
                .and_then(|id| self.traces.get(id))
                .map(|t| t.seq);
            let oldest_log = self.loose_logs.front().map(|(seq, _)| *seq);
            match (oldest_trace, oldest_log) {
                (Some(t), Some(l)) if l < t => self.evict_loose_log(),
                (Some(_), _) => self.evict_oldest_trace(),
                (None, Some(_)) => self.evict_loose_log(),
                (None, None) => break,
            }
        }
    }

    fn evict_oldest_trace(&mut self) {
        let Some(id) = self.order.pop_front() else { return };
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
            if !trace.spans.is_empty() {
                self.stats.traces_evicted += 1;
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

/// Most verdicts kept waiting for a response id that has not been seen.
const MAX_UNANCHORED: usize = 4096;

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

    fn store(max_spans: usize, max_bytes: usize) -> TraceStore {
        TraceStore::new(StoreLimits { max_spans, max_bytes })
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
        assert!(!st.keep(&TraceId([9; 16]), KeepReason::Slow), "not held");
        assert!(st.keep(&id, KeepReason::Slow));
        assert!(!st.keep(&id, KeepReason::Slow), "already kept for that");
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
