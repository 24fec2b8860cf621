//! `D` in the trace list: the model calls of the traces listed (as filtered) written as a
//! dataset file in the export directory, and the footer says where.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

const START: u64 = 1_800_000_000_000_000_000;

fn press(app: &mut App, code: KeyCode) {
    app.handle(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

#[test]
fn d_writes_the_listed_traces_as_a_dataset_and_says_where() {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let p = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    fill(&p, 42, 20.0, START, 150);
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::TrueColor);
    let mut app = App::new(p.clone(), Feed::Demo { rate: 20.0 }, theme);
    let dir = tempfile::tempdir().unwrap();
    app.export_dir = dir.path().to_path_buf();
    press(&mut app, KeyCode::Char('/'));
    for c in "eval:Groundedness:fail".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    screen(&mut app, 160, 48);
    press(&mut app, KeyCode::Char('D'));
    let s = screen(&mut app, 200, 48);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("llmwatch-dataset-") && name.ends_with(".jsonl"),
        "{name}"
    );
    assert!(s.contains("wrote ") && s.contains("llmwatch-dataset-"), "{s}");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&files[0])
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    // Only the listed traces: each has a failing Groundedness call among its rows.
    let store = p.store();
    for r in &rows {
        let id = r["trace_id"].as_str().unwrap();
        let t = store
            .traces_newest_first()
            .find(|t| t.id.to_string() == id)
            .unwrap();
        assert!(
            t.effective_verdicts()
                .any(|v| &*v.name == "Groundedness" && v.passed == Some(false)),
            "{id}"
        );
    }
}

/// `D` in the review queue writes the queue's traces (those kept for a reason), not the list's.
#[test]
fn d_in_the_review_queue_writes_the_queued_traces() {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let p = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    fill(&p, 42, 20.0, START, 150);
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::TrueColor);
    let mut app = App::new(p.clone(), Feed::Demo { rate: 20.0 }, theme);
    let dir = tempfile::tempdir().unwrap();
    app.export_dir = dir.path().to_path_buf();
    screen(&mut app, 160, 48);
    press(&mut app, KeyCode::Char('R'));
    screen(&mut app, 160, 48);
    press(&mut app, KeyCode::Char('D'));
    let s = screen(&mut app, 200, 48);
    assert!(s.contains("wrote ") && s.contains("llmwatch-dataset-"), "{s}");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let written: std::collections::BTreeSet<String> = std::fs::read_to_string(&files[0])
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["trace_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let store = p.store();
    let held: Vec<_> = store
        .traces_newest_first()
        .filter(|t| !t.spans.is_empty())
        .collect();
    let kept: std::collections::BTreeSet<String> = held
        .iter()
        .filter(|t| !t.kept.is_empty())
        .map(|t| t.id.to_string())
        .collect();
    assert!(!written.is_empty(), "the demo's failures are queued");
    assert!(written.is_subset(&kept), "only queued traces: {written:?}");
    assert!(
        kept.len() < held.len(),
        "some traces are plain, so the list would differ"
    );
}
