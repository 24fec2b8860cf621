//! One trace as the store holds it: its spans, logs and verdicts, with the span-id index and the
//! byte and cost accounting the store's bounds read. Below the store, so that the change log,
//! trace shapes and cohorts name it without importing the store.

use crate::intern::Sym;
use crate::model::ids::{SpanId, TraceId};
use crate::model::record::{LogRecord, SpanRecord, StatusCode};
use crate::semconv::types::Verdict;
use crate::store::keep::KeepReasons;
use crate::store::outliers::CostSlot;
use crate::store::tree::{self, TreeNode};
use foldhash::HashMap;

/// Above this many spans a trace keeps a span-id index; below it a scan is cheaper.
const INDEX_THRESHOLD: usize = 32;

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
    pub kept: KeepReasons,
    /// A person judged something in it: only then can a verdict be overridden.
    pub(super) has_human: bool,
    /// The first route a span named: the trace's cohort for the cost baseline.
    pub(super) route: Option<Sym>,
    /// Sum of the priced spans so far, and where it sits in the route's baseline.
    pub(super) cost_so_far: f64,
    pub(super) cost_slot: CostSlot,
    /// Listed in the change log since the reader last drained it.
    pub(super) dirty: bool,
    pub(super) index: Option<HashMap<SpanId, u32>>,
    pub(super) bytes: usize,
    pub(super) content_bytes: usize,
}

impl Trace {
    pub(super) fn new(id: TraceId, seq: u64) -> Self {
        Self {
            id,
            seq,
            spans: Vec::new(),
            logs: Vec::new(),
            verdicts: Vec::new(),
            start_unix_nano: u64::MAX,
            end_unix_nano: 0,
            error_spans: 0,
            kept: KeepReasons::NONE,
            has_human: false,
            route: None,
            cost_so_far: 0.0,
            cost_slot: CostSlot::default(),
            dirty: false,
            index: None,
            bytes: 0,
            content_bytes: 0,
        }
    }

    pub(super) fn position(&self, id: SpanId) -> Option<usize> {
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
    pub fn tree(&self) -> Vec<TreeNode> {
        tree::build(&self.spans)
    }

    /// Estimated bytes held by this trace.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn recompute_bytes(&mut self) {
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
    pub(super) fn upsert(&mut self, span: SpanRecord) -> Option<SpanRecord> {
        self.start_unix_nano = self.start_unix_nano.min(span.start_unix_nano);
        self.end_unix_nano = self.end_unix_nano.max(span.end_unix_nano);
        if span.status == StatusCode::Error {
            self.error_spans += 1;
        }
        self.content_bytes += span.mem_bytes as usize;
        self.cost_so_far += span_cost(&span);
        if self.route.is_none() {
            self.route = span.sem.as_deref().and_then(|m| m.route.clone());
        }
        if let Some(i) = self.position(span.span_id) {
            let old = std::mem::replace(&mut self.spans[i], span);
            self.content_bytes -= old.mem_bytes as usize;
            self.cost_so_far -= span_cost(&old);
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

fn span_cost(s: &SpanRecord) -> f64 {
    s.sem
        .as_deref()
        .and_then(|m| m.cost_usd)
        .filter(|c| c.is_finite())
        .unwrap_or(0.0)
}
