//! `llmwatch dataset CAPTURE... [--reviews FILE] [--filter QUERY] [--out FILE]`: the model calls
//! of the traces a filter keeps, one JSON line each, as a regression dataset (input, context,
//! output, the verdicts, the person's verdict and the expected label). Captures are read through
//! the same pipeline as `report`; the screen's `D` writes the same rows for what is listed
//! through [`write_dataset`].
//!
//! The row's `input`, `output` and `context` come from the external-evaluator payload builder,
//! so a dataset row and what an evaluator reads agree (and secrets are redacted the same way).

use crate::eval::external::payload::{self, Call};
use crate::eval::external::select::Reason;
use crate::report::{ReportError, ReportOptions};
use crate::semconv::{Kind, Verdict, secrets};
use crate::store::Trace;
use crate::view::index::trace_contains;
use crate::view::query::Query;
use crate::view::row::TraceRow;
use serde_json::{Value as Json, json};
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("bad --filter: {0}")]
    Filter(String),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("cannot write the dataset: {0}")]
    Write(std::io::Error),
}

/// Reads the captures (and reviews files, which are captures too), keeps the traces `filter`
/// matches (all when `None`), oldest first, and writes their rows. Returns the rows written.
pub fn run(opts: &ReportOptions, filter: Option<&str>, out: &mut dyn Write) -> Result<u64, DatasetError> {
    // The filter is checked before any file is read: a typo fails at once.
    let query = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(Query::parse(f).map_err(|e| DatasetError::Filter(e.to_string()))?),
        None => None,
    };
    let (pipeline, _) = crate::report::ingest_files(opts)?;
    let c = &pipeline.counters;
    if c.spans.snapshot().received + c.logs.snapshot().received == 0 {
        return Err(ReportError::Empty.into());
    }
    let store = pipeline.store();
    let mut traces: Vec<&Trace> = store
        .traces_newest_first()
        .filter(|t| {
            query
                .as_ref()
                .is_none_or(|q| q.matches(&TraceRow::from_trace(t), &mut |needle| trace_contains(t, needle)))
        })
        .collect();
    traces.reverse();
    write_dataset(traces.into_iter(), out).map_err(DatasetError::Write)
}

/// Writes one JSON line per model call (LLM spans; embeddings and rerankers are not examples)
/// of `traces`, in tree order. Returns the rows written.
pub fn write_dataset<'a>(
    traces: impl Iterator<Item = &'a Trace>,
    out: &mut dyn Write,
) -> std::io::Result<u64> {
    let mut rows = 0;
    for trace in traces {
        let calls: Vec<usize> = trace
            .tree()
            .iter()
            .map(|n| n.index)
            .filter(|&i| trace.spans[i].sem.as_deref().is_some_and(|m| m.kind == Kind::Llm))
            .collect();
        if calls.is_empty() {
            continue;
        }
        let tr = TraceRow::from_trace(trace);
        let documents: Vec<_> = crate::eval::per_trace_documents(&trace.spans, |_| true)
            .remove(&trace.id)
            .unwrap_or_default();
        for i in calls {
            let line = row(trace, &tr, i, &documents);
            writeln!(out, "{line}")?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}

/// The file `D` writes in the current directory: `llmwatch-dataset-<UTC time>.jsonl` (RFC 3339
/// without the colons, which some file systems refuse).
pub fn screen_file_name(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = crate::clock::rfc3339(secs).replace(['-', ':'], "");
    format!("llmwatch-dataset-{t}.jsonl")
}

fn redacted(s: &str) -> String {
    secrets::redact_secrets(s).unwrap_or_else(|| s.to_string())
}

fn verdict_json(v: &Verdict) -> Json {
    json!({
        "name": &*v.name,
        "score": v.score,
        "label": v.label.as_deref(),
        "passed": v.passed,
        "source": v.source.as_str(),
    })
}

fn row(trace: &Trace, tr: &TraceRow, i: usize, documents: &[crate::semconv::content::Document]) -> Json {
    let span = &trace.spans[i];
    let sem = span.sem.as_deref();
    let call = Call {
        span: span.clone(),
        documents: documents.to_vec(),
        route: sem.and_then(|m| m.route.clone()).or_else(|| tr.route.clone()),
        tenant: sem.and_then(|m| m.tenant.clone()).or_else(|| tr.tenant.clone()),
        reason: Reason::Sample,
    };
    let p = payload::payload("dataset", &call);
    let take = |k: &str| p.get(k).and_then(Json::as_array).cloned().unwrap_or_default();
    let mut input = take("system");
    input.extend(take("input"));
    let mut context = take("context");
    context.extend(take("tool_results"));
    let verdicts: Vec<&Verdict> = trace.verdicts_for(span).collect();
    // The person's verdict that counts: the last one that says pass or fail, else the last.
    let human = verdicts
        .iter()
        .rev()
        .filter(|v| v.is_human())
        .max_by_key(|v| v.passed.is_some())
        .copied();
    let expected = human
        .filter(|h| h.passed == Some(false))
        .map(|h| h.label.as_deref().unwrap_or("fail").to_string());
    json!({
        "trace_id": span.trace_id.to_string(),
        "span_id": span.span_id.to_string(),
        "service": span.service(),
        "route": call.route.as_deref(),
        "tenant": call.tenant.as_deref(),
        "prompt_version": sem.and_then(|m| m.prompt_version.as_deref()).or(tr.prompt_version.as_deref()),
        "model": sem.and_then(|m| m.model().map(|x| &**x)),
        "input": input,
        "context": context,
        "output": take("output"),
        "verdicts": verdicts.iter().map(|v| verdict_json(v)).collect::<Vec<_>>(),
        "human": human.map(|h| json!({
            "name": &*h.name,
            "label": h.label.as_deref(),
            "passed": h.passed,
            "note": h.explanation.as_deref().map(redacted),
            "reviewer": h.reviewer.as_deref().map(redacted),
        })),
        "expected": expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_utc_time() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_608_496);
        assert_eq!(screen_file_name(t), "llmwatch-dataset-20261207T015456Z.jsonl");
    }
}
