//! The memory bound end to end: real OTLP spans through the real conversion into a store with a
//! small budget, ten times the budget pushed through; the estimate never passes the budget and
//! every accepted span is accounted for.

mod common;

use common::*;
use llmwatch::config::split_budget;

#[tokio::test]
async fn ten_times_the_budget_pushed_through_stays_under_it() {
    let mut config = test_config();
    let (store, handoff) = split_budget(1_000_000, 4 * 1024 * 1024);
    config.store = store;
    config.handoff = handoff;
    let running = start(config).await;
    let pipeline = running.pipeline.clone();
    let mut pushed_bytes = 0usize;
    let mut batch_no = 0u64;
    while pushed_bytes < 10 * store.max_bytes {
        let req = llm_batch(batch_no * 100 + 1, 64, 8, now_nanos());
        pushed_bytes += prost::Message::encoded_len(&req);
        llmwatch::ingest::export_traces(&pipeline, req).expect("accepted");
        pipeline.flush();
        let held = pipeline.store().bytes_held();
        assert!(
            held <= store.max_bytes,
            "estimate {held} over budget {}",
            store.max_bytes
        );
        batch_no += 1;
    }
    let summary = running.stop().await;
    assert_eq!(summary.spans.accepted, batch_no * 64);
    assert!(summary.spans.evicted > 0);
    assert_eq!(
        summary.spans.stored + summary.spans.evicted,
        summary.spans.accepted
    );
    assert_eq!(summary.spans.evicted % 8, 0, "whole traces are evicted");
    assert!(
        summary.memory.estimated_bytes > store.max_bytes as u64 / 2,
        "the budget is used, not wasted"
    );
}
