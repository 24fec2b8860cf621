//! The status line: the figures of a running pipeline (accepted, held, evicted, refused, LLM
//! calls and spend, recording and forwarding state) sampled now and then, and the line made of
//! two samples. Headless modes print it on stderr; the screen's status bar reads the samples.

use crate::forward::ForwardState;
use crate::ingest::handoff::Pipeline;
use crate::ingest::record::RecordState;
use std::time::Instant;

/// The figures one status line is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatusSample {
    pub at: Instant,
    pub spans_accepted: u64,
    pub traces_seen: u64,
    pub logs_accepted: u64,
    pub metric_points: u64,
    pub spans_held: u64,
    pub max_spans: u64,
    pub bytes_held: u64,
    pub max_bytes: u64,
    pub spans_evicted: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub bad_requests: u64,
    pub llm_calls: u64,
    pub cost_usd: f64,
    pub unpriced_calls: u64,
    pub verdicts: u64,
    /// `--record`: the recording's state (None without it).
    pub record: Option<RecordState>,
    /// `--forward`: the forwarding queues' state (None without it).
    pub forward: Option<ForwardState>,
}

impl StatusSample {
    pub fn take(pipeline: &Pipeline) -> Self {
        let c = &pipeline.counters;
        let spans = c.spans.snapshot();
        let logs = c.logs.snapshot();
        let req = c.requests.snapshot();
        let (st, limits, llm) = {
            let store = pipeline.store();
            let t = store.llm_totals();
            (
                store.stats(),
                store.limits(),
                (t.llm_calls, t.cost_usd, t.unpriced_calls, t.verdicts_received),
            )
        };
        let handoff = pipeline.handoff.limits();
        Self {
            at: Instant::now(),
            spans_accepted: spans.accepted,
            traces_seen: st.traces_seen,
            logs_accepted: logs.accepted,
            metric_points: c.metric_points.snapshot().accepted,
            spans_held: st.spans_held,
            max_spans: limits.max_spans as u64,
            bytes_held: st.bytes_held,
            max_bytes: (limits.max_bytes + handoff.outside_store()) as u64,
            spans_evicted: st.spans_evicted,
            dropped: spans.dropped + logs.dropped,
            rejected: spans.rejected + logs.rejected,
            bad_requests: req.bad_request + req.too_large + req.unsupported_media_type + req.unauthorized,
            llm_calls: llm.0,
            cost_usd: llm.1,
            unpriced_calls: llm.2,
            verdicts: llm.3,
            record: pipeline.recorder().map(|r| r.state()),
            forward: pipeline.forwarder().map(|f| f.state()),
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One line: rates since `prev`, totals, LLM calls and spend, buffer fill, and everything
/// refused.
pub fn status_line(prev: &StatusSample, now: &StatusSample) -> String {
    let secs = now.at.duration_since(prev.at).as_secs_f64().max(1e-3);
    let rate = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / secs;
    format!(
        "{:.0} spans/s {:.1} traces/s | {} spans {} traces {} logs {} metric points | \
         {} LLM calls ${:.4} ({} unpriced) {} verdicts | \
         buffer {}/{} spans {:.1}/{:.0} MiB | evicted {} dropped {} rejected {} bad requests {}",
        rate(prev.spans_accepted, now.spans_accepted),
        rate(prev.traces_seen, now.traces_seen),
        now.spans_accepted,
        now.traces_seen,
        now.logs_accepted,
        now.metric_points,
        now.llm_calls,
        now.cost_usd,
        now.unpriced_calls,
        now.verdicts,
        now.spans_held,
        now.max_spans,
        mib(now.bytes_held),
        mib(now.max_bytes),
        now.spans_evicted,
        now.dropped,
        now.rejected,
        now.bad_requests,
    ) + &forward_part(now.forward)
}

/// `--forward`: what waits, or that an upstream is retried, or that the receivers refuse.
fn forward_part(state: Option<ForwardState>) -> String {
    use ForwardState;
    match state {
        None => String::new(),
        Some(ForwardState::Sending(bytes)) => format!(" | forward {:.1} MiB queued", mib(bytes)),
        Some(ForwardState::Retrying) => " | forward RETRYING".to_string(),
        Some(ForwardState::Full) => " | forward FULL (refusing requests)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn status_line_shows_rates_fill_and_refusals() {
        let t0 = Instant::now();
        let prev = StatusSample {
            at: t0,
            spans_accepted: 0,
            traces_seen: 0,
            logs_accepted: 0,
            metric_points: 0,
            spans_held: 0,
            max_spans: 200_000,
            bytes_held: 0,
            max_bytes: 512 << 20,
            spans_evicted: 0,
            dropped: 0,
            rejected: 0,
            bad_requests: 0,
            llm_calls: 0,
            cost_usd: 0.0,
            unpriced_calls: 0,
            verdicts: 0,
            record: None,
            forward: None,
        };
        let now = StatusSample {
            at: t0 + Duration::from_secs(5),
            spans_accepted: 5_000,
            traces_seen: 50,
            logs_accepted: 7,
            metric_points: 3,
            spans_held: 5_000,
            bytes_held: 10 << 20,
            dropped: 2,
            rejected: 1,
            bad_requests: 4,
            llm_calls: 12,
            cost_usd: 0.01234,
            unpriced_calls: 1,
            verdicts: 3,
            ..prev
        };
        assert_eq!(
            status_line(&prev, &now),
            "1000 spans/s 10.0 traces/s | 5000 spans 50 traces 7 logs 3 metric points | \
             12 LLM calls $0.0123 (1 unpriced) 3 verdicts | buffer 5000/200000 spans 10.0/512 MiB | evicted 0 dropped 2 rejected 1 bad requests 4"
        );
    }
}
