//! Whole-run LLM totals, updated as spans and verdicts are filed (never by rescanning): calls,
//! tokens, cost, latency and time-to-first-token histograms, per-model rows and per-evaluator
//! verdict counts. Model and evaluator tables are bounded; names past the bound are folded into
//! one "(other)" row so hostile cardinality cannot grow memory.

use super::histogram::LogHistogram;
use crate::intern::Sym;
use crate::model::{SpanRecord, StatusCode};
use crate::semconv::{TokenUsage, Verdict};
use std::sync::Arc;

/// Most distinct (provider, model) rows and evaluator names kept.
pub const MAX_ROWS: usize = 512;

#[derive(Clone, Debug, Default)]
pub struct ModelTotals {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub unpriced_calls: u64,
    pub errors: u64,
    pub durations: LogHistogram,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VerdictTotals {
    pub count: u64,
    pub fail: u64,
    pub scored: u64,
    pub score_sum: f64,
    /// Subjects (span × evaluator) a person and this automatic evaluator both judged.
    pub human_reviewed: u64,
    pub human_agreed: u64,
    /// The judge failed it, a person passed it.
    pub overridden_pass: u64,
    /// The judge passed it, a person failed it.
    pub overridden_fail: u64,
}

#[derive(Debug, Default)]
pub struct LlmTotals {
    /// Calls to a model (LLM, embedding and rerank spans; wrappers not counted).
    pub llm_calls: u64,
    /// Model calls whose span status is ERROR.
    pub failed_calls: u64,
    /// Model calls whose library said how many input tokens came from the cache.
    pub cache_known_calls: u64,
    pub tokens: TokenUsage,
    pub cost_usd: f64,
    pub unpriced_calls: u64,
    pub latency: LogHistogram,
    pub ttft: LogHistogram,
    pub by_model: foldhash::HashMap<(Option<Sym>, Sym), ModelTotals>,
    pub verdicts: foldhash::HashMap<Sym, VerdictTotals>,
    pub verdicts_received: u64,
    /// Verdicts whose target span never arrived before their trace was evicted.
    pub verdicts_expired: u64,
}

fn other() -> Sym {
    Arc::from("(other)")
}

impl LlmTotals {
    pub fn record_span(&mut self, span: &SpanRecord) {
        let Some(sem) = span.sem.as_deref() else { return };
        if !sem.is_model_call() {
            return;
        }
        self.llm_calls += 1;
        self.failed_calls += u64::from(span.status == StatusCode::Error);
        self.cache_known_calls += u64::from(sem.usage.is_some_and(|u| u.cache_known));
        let micros = span.duration_nanos() / 1_000;
        self.latency.record(micros);
        if let Some(t) = sem.ttft_nanos {
            self.ttft.record(t / 1_000);
        }
        if let Some(u) = sem.usage {
            let t = &mut self.tokens;
            t.input = t.input.saturating_add(u.input);
            t.output = t.output.saturating_add(u.output);
            t.total = t.total.saturating_add(u.total);
            t.cache_read = t.cache_read.saturating_add(u.cache_read);
            t.cache_write = t.cache_write.saturating_add(u.cache_write);
            t.reasoning = t.reasoning.saturating_add(u.reasoning);
        }
        self.cost_usd += sem.cost_usd.unwrap_or(0.0);
        self.unpriced_calls += u64::from(sem.unpriced);

        let model = sem.model().cloned().unwrap_or_else(|| Arc::from("(unknown)"));
        let mut key = (sem.provider.clone(), model);
        if !self.by_model.contains_key(&key) && self.by_model.len() >= MAX_ROWS {
            key = (None, other());
        }
        let row = self.by_model.entry(key).or_default();
        row.calls += 1;
        row.input_tokens = row.input_tokens.saturating_add(sem.usage.map_or(0, |u| u.input));
        row.output_tokens = row
            .output_tokens
            .saturating_add(sem.usage.map_or(0, |u| u.output));
        row.cost_usd += sem.cost_usd.unwrap_or(0.0);
        row.unpriced_calls += u64::from(sem.unpriced);
        row.errors += u64::from(span.status == StatusCode::Error);
        row.durations.record(micros);
    }

    pub fn record_verdict(&mut self, v: &Verdict) {
        self.verdicts_received += 1;
        let mut name = v.name.clone();
        if !self.verdicts.contains_key(&name) && self.verdicts.len() >= MAX_ROWS {
            name = other();
        }
        let row = self.verdicts.entry(name).or_default();
        row.count += 1;
        row.fail += u64::from(v.passed == Some(false));
        if let Some(s) = v.score {
            row.scored += 1;
            row.score_sum += s;
        }
    }

    /// Applies (`sign` 1) or takes back (`sign` -1) a subject's human standing: its overridden
    /// verdicts leave `count`/`fail` (a person's verdict wins), its comparison counts agreement.
    pub fn adjust_overrides(
        &mut self,
        overridden: &[(Sym, bool)],
        cmp: Option<&crate::semconv::effective::Comparison>,
        sign: i64,
    ) {
        let add = |x: &mut u64, n: bool| {
            if n {
                *x = x.saturating_add_signed(sign);
            }
        };
        let take = |x: &mut u64, n: bool| {
            if n {
                *x = x.saturating_add_signed(-sign);
            }
        };
        for (name, failed) in overridden {
            if let Some(row) = self.verdicts.get_mut(name) {
                take(&mut row.count, true);
                take(&mut row.fail, *failed);
            }
        }
        if let Some(c) = cmp
            && let Some(row) = self.verdicts.get_mut(&c.name)
        {
            add(&mut row.human_reviewed, true);
            add(&mut row.human_agreed, c.agreed());
            add(&mut row.overridden_pass, c.overridden_pass());
            add(&mut row.overridden_fail, c.overridden_fail());
        }
    }

    /// Bytes held by the bounded tables.
    pub fn bytes(&self) -> usize {
        self.by_model.capacity() * (size_of::<((Option<Sym>, Sym), ModelTotals)>() + LogHistogram::BYTES + 1)
            + self.verdicts.capacity() * (size_of::<(Sym, VerdictTotals)>() + 1)
    }
}
