//! `llmwatch report FILE... [--spans]`: captured OTLP through the same pipeline as live traffic
//! (event time, same conversion and store), then the JSON summary or one JSON line per
//! normalised span.

use crate::config::HandoffLimits;
use crate::cost::CostTable;
use crate::ingest::file::{Message, parse_json_line};
use crate::ingest::handoff::{ConverterPool, Pipeline};
use crate::ingest::{self, WhenFull};
use crate::model::{ConvertLimits, Converter, SpanRecord};
use crate::semconv::cohort::CohortKey;
use crate::semconv::{SemconvConfig, Verdict};
use crate::store::{StoreLimits, Trace, TraceStore};
use crate::summary::Summary;
use serde_json::{Value as Json, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;

pub struct ReportOptions {
    pub files: Vec<PathBuf>,
    pub spans: bool,
    pub store: StoreLimits,
    pub handoff: HandoffLimits,
    pub semconv: Arc<SemconvConfig>,
    pub costs: Arc<CostTable>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write output: {0}")]
    Write(std::io::Error),
}

/// Feeds every file and returns the summary; malformed lines are reported on stderr with their
/// line number, skipped and counted.
pub fn ingest_files(opts: &ReportOptions) -> Result<(Arc<Pipeline>, InputStats), ReportError> {
    let (semconv, costs) = (opts.semconv.clone(), opts.costs.clone());
    let converters = ConverterPool::new(move || {
        Converter::new(ConvertLimits::default(), semconv.clone(), Some(costs.clone()))
    });
    let pipeline = Pipeline::start(TraceStore::new(opts.store), converters, opts.handoff, None);
    let mut stats = InputStats::default();
    for path in &opts.files {
        let read_err = |source| ReportError::Read {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        stats.files += 1;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(read_err)?;
            stats.lines += 1;
            match parse_json_line(&line) {
                Ok(Some(message)) => feed(&pipeline, message),
                Ok(None) => {}
                Err(e) => {
                    stats.malformed_lines += 1;
                    eprintln!("llmwatch: {}:{}: {e}", path.display(), n + 1);
                }
            }
        }
    }
    pipeline.shutdown();
    Ok((pipeline, stats))
}

/// Offers a message, waiting for the ingest thread instead of dropping when it is behind: a
/// file has no exporter to retry. (The pipeline only refuses a waiting offer once stopped.)
fn feed(pipeline: &Pipeline, message: Message) {
    let _ = match message {
        Message::Traces(req) => ingest::export_traces_with(pipeline, req, WhenFull::Wait),
        Message::Logs(req) => ingest::export_logs_with(pipeline, req, WhenFull::Wait),
        Message::Metrics(req) => Ok(ingest::export_metrics(pipeline, &req)),
    };
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InputStats {
    pub files: u64,
    pub lines: u64,
    pub malformed_lines: u64,
}

pub fn run(opts: &ReportOptions, out: &mut dyn Write) -> Result<Summary, ReportError> {
    let (pipeline, input) = ingest_files(opts)?;
    let mut summary = Summary::collect(&pipeline);
    summary.input = Some(input);
    if opts.spans {
        let store = pipeline.store();
        let traces: Vec<&Trace> = store.traces_newest_first().collect();
        for trace in traces.into_iter().rev() {
            for node in trace.tree() {
                let line = span_line(trace, &trace.spans[node.index]);
                writeln!(out, "{line}").map_err(ReportError::Write)?;
            }
        }
        if summary.spans.evicted > 0 {
            eprintln!(
                "llmwatch: {} spans were evicted before the end and are not listed; raise --max-spans or --max-memory",
                summary.spans.evicted
            );
        }
    } else {
        writeln!(out, "{}", summary.to_json()).map_err(ReportError::Write)?;
    }
    Ok(summary)
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

/// One normalised span as a JSON object (the `report --spans` line format in DESIGN.md).
pub fn span_line(trace: &Trace, s: &SpanRecord) -> Json {
    let sem = s.sem.as_deref();
    let usage = sem.and_then(|m| m.usage);
    let tokens = |f: fn(&crate::semconv::TokenUsage) -> u64| usage.as_ref().map(f);
    json!({
        "trace_id": s.trace_id.to_string(),
        "span_id": s.span_id.to_string(),
        "parent_span_id": s.parent_span_id.map(|p| p.to_string()),
        "name": &*s.name,
        "kind": sem.map_or("other", |m| m.kind.as_str()),
        "service": s.service(),
        "provider": sem.and_then(|m| m.provider.as_deref()),
        "model": sem.and_then(|m| m.model().map(|x| &**x)),
        "response_model": sem.and_then(|m| m.response_model.as_deref()),
        "start_unix_nano": s.start_unix_nano,
        "duration_ms": s.duration_nanos() as f64 / 1e6,
        "status": s.status.as_str(),
        "input_tokens": tokens(|u| u.input),
        "output_tokens": tokens(|u| u.output),
        "cache_read_tokens": tokens(|u| u.cache_read),
        "cache_write_tokens": tokens(|u| u.cache_write),
        "reasoning_tokens": tokens(|u| u.reasoning),
        "cost_usd": sem.and_then(|m| m.cost_usd),
        "cost_source": sem.and_then(|m| m.cost_source.map(|c| c.as_str())),
        "ttft_ms": sem.and_then(|m| m.ttft_nanos).map(|n| n as f64 / 1e6),
        "route": CohortKey::Route.value(trace, s),
        "tenant": CohortKey::Tenant.value(trace, s),
        "session": CohortKey::Session.value(trace, s),
        "verdicts": trace.verdicts_for(s).map(verdict_json).collect::<Vec<_>>(),
    })
}
