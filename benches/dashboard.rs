//! Dashboard frame cost against the store's size: the same demo traffic (1,000 s at 1,000
//! spans/s, so every window up to 15 minutes is full) into a store that holds 200,000 spans
//! and into one that holds 1,000,000; then one frame of all panes at 160x48 on ratatui's
//! TestBackend (view built from the index's aggregates plus the visible rows, and drawn). A
//! frame must not grow with the store. Also: a refresh after one more second of traffic (draining the change log), and
//! opening the screen on a full store (the one full scan).
//! Run with `cargo bench --bench dashboard`.

use divan::Bencher;
use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::DemoConfig;
use llmwatch::demo::DemoGenerator;
use llmwatch::demo::run::{feed_local, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::{Arc, Mutex, OnceLock};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const START: u64 = 1_800_000_000_000_000_000;
const RATE: f64 = 1000.0;
const SECONDS: u64 = 1000;

fn main() {
    divan::main();
}

struct Filled {
    pipeline: Arc<Pipeline>,
    generator: Mutex<DemoGenerator>,
    /// The screen, open while the traffic arrived (as live): its windows saw every trace.
    app: Mutex<App>,
}

fn filled(spans: usize) -> &'static Filled {
    static SMALL: OnceLock<Filled> = OnceLock::new();
    static LARGE: OnceLock<Filled> = OnceLock::new();
    let cell = if spans <= 200_000 { &SMALL } else { &LARGE };
    cell.get_or_init(|| {
        let (store, handoff) = split_budget(spans, 4 << 30);
        let pipeline = local_pipeline(
            store,
            handoff,
            Arc::new(SemconvConfig::default()),
            Arc::new(CostTable::bundled()),
        );
        let mut generator = DemoGenerator::new(DemoConfig {
            seed: 42,
            spans_per_sec: RATE,
            start_unix_nano: START,
        });
        let mut app = App::new(pipeline.clone(), Feed::Demo { rate: RATE }, Theme::default());
        for _ in 0..SECONDS {
            feed_local(&pipeline, generator.next_second());
            pipeline.flush();
            app.sync();
        }
        eprintln!("filled: {} spans held", pipeline.store().stats().spans_held);
        Filled {
            pipeline,
            generator: Mutex::new(generator),
            app: Mutex::new(app),
        }
    })
}

fn app(f: &Filled) -> App {
    App::new(f.pipeline.clone(), Feed::Demo { rate: RATE }, Theme::default())
}

const SIZES: [usize; 2] = [200_000, 1_000_000];

/// One frame of every pane at 160x48, nothing new arrived.
#[divan::bench(args = SIZES, sample_count = 200)]
fn frame_160x48(bencher: Bencher, spans: usize) {
    let f = filled(spans);
    let mut a = f.app.lock().unwrap();
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    bencher.bench_local(|| {
        a.dirty = true;
        t.draw(|frame| a.draw(frame)).unwrap();
    });
}

/// One frame sorted by cost with a filter in force (the list reads from the sorted index).
#[divan::bench(args = SIZES, sample_count = 100)]
fn frame_160x48_filtered_by_cost(bencher: Bencher, spans: usize) {
    use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let f = filled(spans);
    let mut guard = f.app.lock().unwrap();
    let a = &mut *guard;
    let key = |a: &mut App, c: KeyCode| {
        a.handle(&Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    };
    key(a, KeyCode::Char('s'));
    key(a, KeyCode::Char('s'));
    key(a, KeyCode::Char('/'));
    for c in "model:gpt-4o cost>0.001".chars() {
        key(a, KeyCode::Char(c));
    }
    key(a, KeyCode::Enter);
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    bencher.bench_local(|| {
        t.draw(|frame| a.draw(frame)).unwrap();
    });
    // Back to the default view for the other benchmarks.
    key(a, KeyCode::Esc);
    key(a, KeyCode::Char('s'));
    key(a, KeyCode::Char('s'));
    key(a, KeyCode::Char('s'));
}

/// Draining one more second of traffic (RATE spans) into the index, then a frame.
#[divan::bench(args = SIZES, sample_count = 30)]
fn refresh_after_one_second_of_traffic(bencher: Bencher, spans: usize) {
    let f = filled(spans);
    let mut a = f.app.lock().unwrap();
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    bencher
        .with_inputs(|| {
            let batch = f.generator.lock().unwrap().next_second();
            feed_local(&f.pipeline, batch);
            f.pipeline.flush();
        })
        .bench_local_values(|()| {
            a.sync();
            t.draw(|frame| a.draw(frame)).unwrap();
        });
}

/// Opening the screen on a full store: the one full scan that builds the index.
#[divan::bench(args = SIZES, sample_count = 5)]
fn open_on_a_full_store(bencher: Bencher, spans: usize) {
    let f = filled(spans);
    bencher.bench_local(|| app(f));
}

/// The view alone (aggregates read, visible rows copied), without drawing: where a frame's
/// time goes.
#[divan::bench(args = SIZES, sample_count = 200)]
fn view_only_160x48(bencher: Bencher, spans: usize) {
    let f = filled(spans);
    let mut a = f.app.lock().unwrap();
    let area = ratatui::layout::Rect::new(0, 0, 160, 48);
    let budget = llmwatch::ui::panes::layout(area, &a.ui).budget();
    bencher.bench_local(|| a.view(budget));
}

/// Applying a free-text filter: every held trace's content is searched once, under the store's
/// lock (the receivers wait meanwhile).
#[divan::bench(args = SIZES, sample_count = 5)]
fn apply_free_text_filter(bencher: Bencher, spans: usize) {
    use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let f = filled(spans);
    let mut a = f.app.lock().unwrap();
    let key = |a: &mut App, c: KeyCode| {
        a.handle(&Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    };
    bencher.bench_local(|| {
        key(&mut a, KeyCode::Char('/'));
        for c in "warehouse".chars() {
            key(&mut a, KeyCode::Char(c));
        }
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Esc);
    });
}
