//! Opening and scrolling a 20,000-span trace in the drill-down, on ratatui's TestBackend at
//! 160x48: `open_and_first_frame` is Enter on the trace list plus the first frame (the tree is
//! built, the visible rows and the detail written); `scroll_frame` is one step down plus a
//! frame; `page_frame` one page down plus a frame. Run with `cargo bench --bench drill`.

#[path = "../tests/common/mod.rs"]
mod common;

use divan::Bencher;
use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::local_pipeline;
use llmwatch::ingest::{WhenFull, export_traces_with};
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SPANS: usize = 20_000;

fn main() {
    divan::main();
}

fn press(app: &mut App, code: KeyCode) {
    app.handle(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// The app with one 20,000-span trace (a root and its LLM-call children) in the list.
fn app() -> App {
    let (store, handoff) = split_budget(100_000, 1 << 30);
    let p = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    let req = common::llm_batch(1, SPANS, SPANS, 1_800_000_000_000_000_000);
    export_traces_with(&p, req, WhenFull::Wait).expect("accepted");
    p.flush();
    assert_eq!(p.store().stats().spans_held as usize, SPANS);
    let mut a = App::new(p, Feed::Demo { rate: 1.0 }, Theme::default());
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| a.draw(f)).unwrap();
    a
}

#[divan::bench(sample_count = 30)]
fn open_and_first_frame(bencher: Bencher) {
    let mut a = app();
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    bencher.bench_local(|| {
        press(&mut a, KeyCode::Esc);
        press(&mut a, KeyCode::Enter);
        t.draw(|f| a.draw(f)).unwrap();
    });
    assert!(a.drill.is_some());
}

#[divan::bench(sample_count = 300)]
fn scroll_frame(bencher: Bencher) {
    let mut a = app();
    press(&mut a, KeyCode::Enter);
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| a.draw(f)).unwrap();
    bencher.bench_local(|| {
        press(&mut a, KeyCode::Down);
        t.draw(|f| a.draw(f)).unwrap();
    });
}

#[divan::bench(sample_count = 300)]
fn page_frame(bencher: Bencher) {
    let mut a = app();
    press(&mut a, KeyCode::Enter);
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| a.draw(f)).unwrap();
    bencher.bench_local(|| {
        press(&mut a, KeyCode::PageDown);
        t.draw(|f| a.draw(f)).unwrap();
    });
}
