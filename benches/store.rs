//! Filing spans into a full store: `insert_evict` times `TraceStore::insert_spans` of 512
//! converted LLM spans (4 a trace, 1 trace in 32 with an ERROR span) into a store already at its
//! 5,000-span limit, so every batch evicts as many spans as it files. Inputs (fresh trace ids)
//! are built outside the timed part. Run with `cargo bench --bench store`.

#[path = "../tests/common/mod.rs"]
mod common;

use divan::Bencher;
use llmwatch::model::convert::Converter;
use llmwatch::model::{SpanRecord, StatusCode};
use llmwatch::store::{StoreLimits, TraceStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 512;

fn main() {
    divan::main();
}

fn batch() -> Vec<SpanRecord> {
    let req = common::llm_batch(1, BATCH, 4, 1_800_000_000_000_000_000);
    let mut out = Vec::new();
    let mut verdicts = Vec::new();
    Converter::default().convert_traces_unevaluated(req, &mut out, &mut verdicts);
    for (k, s) in out.iter_mut().enumerate() {
        if k % 128 == 3 {
            s.status = StatusCode::Error;
        }
    }
    out
}

/// The batch with trace ids no earlier batch used.
fn fresh(template: &[SpanRecord], round: u64) -> Vec<SpanRecord> {
    template
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.trace_id.0[8..].copy_from_slice(&round.to_be_bytes());
            s
        })
        .collect()
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn insert_evict(bencher: Bencher) {
    let template = batch();
    let mut store = TraceStore::new(StoreLimits {
        max_spans: 5_000,
        max_bytes: usize::MAX,
        keep_share: 0.5,
        cost_floor_usd: llmwatch::store::outliers::DEFAULT_FLOOR_USD,
    });
    let mut round = 0u64;
    for _ in 0..20 {
        round += 1;
        store.insert_spans(fresh(&template, round));
    }
    bencher
        .counter(divan::counter::ItemsCount::new(BATCH))
        .with_inputs(|| {
            round += 1;
            fresh(&template, round)
        })
        .bench_local_values(|spans| store.insert_spans(spans));
}
