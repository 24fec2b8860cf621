//! The trace drill-down on ratatui's `TestBackend`: a demo agent trace (nested tools, streaming
//! LLM calls, retrieval, verdicts from span events and log records, an error) with an orphan
//! added, snapshotted collapsed and expanded at 80x24 and 160x48; navigation; selection kept
//! while spans arrive; export then replay; the OSC 52 bytes of a copy.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::model::{SpanId, StatusCode, TraceId};
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::sync::{Arc, Mutex};

const START: u64 = 1_800_000_000_000_000_000;

fn pipeline() -> Arc<Pipeline> {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let p = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    fill(&p, 42, 20.0, START, 150);
    p
}

fn press(app: &mut App, code: KeyCode) {
    app.handle(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

/// A refund-agent trace with an error span and a failed verdict, plus an orphan span whose
/// parent never arrives; the app has it open.
fn opened() -> (Arc<Pipeline>, App, TraceId) {
    let p = pipeline();
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::TrueColor);
    let mut app = App::new(p.clone(), Feed::Demo { rate: 20.0 }, theme);
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "route:/support/refund status:error eval:fail");
    press(&mut app, KeyCode::Enter);
    screen(&mut app, 160, 48);
    let id = app.ui.list.selected.expect("a failing refund trace");
    // An orphan: its parent id names a span that never arrives.
    {
        let mut store = p.store();
        let t = store.trace(&id).unwrap();
        let mut orphan = t.spans[0].clone();
        orphan.span_id = SpanId([0xab; 8]);
        orphan.parent_span_id = Some(SpanId([0xcd; 8]));
        orphan.name = "late tool call".into();
        // A plain span: no attributes (they would be normalised again on replay).
        orphan.attributes = Box::new([]);
        orphan.events = Box::new([]);
        orphan.status = StatusCode::Unset;
        orphan.sem = None;
        store.insert_spans([orphan]);
    }
    app.sync();
    press(&mut app, KeyCode::Enter);
    assert!(app.drill.is_some(), "Enter opens the trace");
    (p, app, id)
}

#[test]
fn the_open_trace_collapsed_and_expanded() {
    let (p, mut app, id) = opened();
    {
        let store = p.store();
        let mut sources: Vec<&str> = store
            .trace(&id)
            .unwrap()
            .verdicts
            .iter()
            .map(|v| v.source.as_str())
            .collect();
        sources.sort();
        sources.dedup();
        assert!(sources.len() >= 2, "verdicts from several encodings: {sources:?}");
    }
    let big = screen(&mut app, 160, 48);
    for want in [
        "trace ",
        "model calls",
        "⚠ missing parent",
        "late tool call",
        "✗ error",
        "Detail",
    ] {
        assert!(big.contains(want), "{want} missing:\n{big}");
    }
    insta::assert_snapshot!("drill_expanded_160x48", big);
    insta::assert_snapshot!("drill_expanded_80x24", screen(&mut app, 80, 24));
    press(&mut app, KeyCode::Char('C'));
    let collapsed = screen(&mut app, 160, 48);
    assert!(collapsed.contains('▶'), "{collapsed}");
    insta::assert_snapshot!("drill_collapsed_160x48", collapsed);
    insta::assert_snapshot!("drill_collapsed_80x24", screen(&mut app, 80, 24));
    press(&mut app, KeyCode::Esc);
    assert!(app.drill.is_none());
    assert!(
        screen(&mut app, 160, 48).contains("filter: route:/support/refund"),
        "the list as it was left"
    );
}

fn selected(app: &App, p: &Pipeline) -> (String, StatusCode, Option<f64>, u64) {
    let d = app.drill.as_ref().unwrap();
    let store = p.store();
    let t = store.trace(&d.trace_id).unwrap();
    let s = d.selected_span(t).expect("a span is selected");
    (
        s.name.to_string(),
        s.status,
        s.sem.as_deref().and_then(|m| m.cost_usd),
        s.duration_nanos(),
    )
}

#[test]
fn navigation_jumps_to_errors_failed_verdicts_cost_and_time() {
    let (p, mut app, id) = opened();
    screen(&mut app, 160, 48);
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(selected(&app, &p).1, StatusCode::Error);
    press(&mut app, KeyCode::Char('v'));
    {
        let d = app.drill.as_ref().unwrap();
        let store = p.store();
        let t = store.trace(&id).unwrap();
        let s = d.selected_span(t).unwrap();
        assert!(t.verdicts_for(s).any(|v| v.passed == Some(false)), "{}", s.name);
    }
    press(&mut app, KeyCode::Char('$'));
    let dearest = {
        let store = p.store();
        let t = store.trace(&id).unwrap();
        t.spans
            .iter()
            .filter_map(|s| s.sem.as_deref().and_then(|m| m.cost_usd))
            .fold(0.0, f64::max)
    };
    assert_eq!(selected(&app, &p).2, Some(dearest));
    press(&mut app, KeyCode::Char('s'));
    let slowest = {
        let store = p.store();
        store
            .trace(&id)
            .unwrap()
            .spans
            .iter()
            .map(|s| s.duration_nanos())
            .max()
            .unwrap()
    };
    assert_eq!(selected(&app, &p).3, slowest);
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "late tool");
    press(&mut app, KeyCode::Enter);
    assert_eq!(selected(&app, &p).0, "late tool call");
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "no such thing anywhere");
    press(&mut app, KeyCode::Enter);
    assert!(screen(&mut app, 160, 48).contains("no span matches"));
}

#[test]
fn the_selection_stays_while_spans_arrive() {
    let (p, mut app, id) = opened();
    screen(&mut app, 160, 48);
    press(&mut app, KeyCode::Char('G'));
    let before = selected(&app, &p).0;
    {
        let mut store = p.store();
        let t = store.trace(&id).unwrap();
        let mut early = t.spans[0].clone();
        early.span_id = SpanId([0x11; 8]);
        early.parent_span_id = t.root().map(|r| r.span_id);
        early.start_unix_nano = t.start_unix_nano;
        early.name = "arrived while open".into();
        store.insert_spans([early]);
    }
    app.sync();
    let s = screen(&mut app, 160, 48);
    assert!(s.contains("arrived while open"), "{s}");
    assert_eq!(selected(&app, &p).0, before);
}

#[test]
fn export_writes_a_file_replay_reads_back() {
    let (p, mut app, id) = opened();
    let dir = tempfile::tempdir().unwrap();
    app.export_dir = dir.path().to_path_buf();
    press(&mut app, KeyCode::Char('e'));
    let s = screen(&mut app, 160, 48);
    assert!(s.contains("wrote "), "{s}");
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (spans, cost) = {
        let store = p.store();
        let t = store.trace(&id).unwrap();
        (t.spans.len() as u64, t.cost_usd().unwrap())
    };
    let opts = llmwatch::report::ReportOptions {
        files: vec![file],
        spans: false,
        speed: llmwatch::replay::Speed::Max,
        status_every: None,
        recorder: None,
        store: split_budget(200_000, 512 << 20).0,
        handoff: split_budget(200_000, 512 << 20).1,
        semconv: Arc::new(SemconvConfig::default()),
        costs: Arc::new(CostTable::bundled()),
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    };
    let summary = llmwatch::report::run(&opts, &mut std::io::sink()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary.to_json().to_string()).unwrap();
    assert_eq!(json["spans"]["accepted"].as_u64(), Some(spans));
    assert_eq!(json["traces"].as_u64(), Some(1));
    assert!((json["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-9, "{json}");
}

#[test]
fn copying_writes_an_osc52_sequence() {
    let (_p, mut app, id) = opened();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    app.set_clipboard(Box::new(move |b| {
        sink.lock().unwrap().extend_from_slice(b);
        Ok(())
    }));
    press(&mut app, KeyCode::Char('Y'));
    let expected = llmwatch::ui::osc52::sequence(&id.to_string(), std::env::var_os("TMUX").is_some());
    assert_eq!(String::from_utf8(out.lock().unwrap().clone()).unwrap(), expected);
    out.lock().unwrap().clear();
    press(&mut app, KeyCode::Char('y'));
    let bytes = out.lock().unwrap().clone();
    assert!(
        bytes.starts_with(b"\x1b]52;c;") || bytes.starts_with(b"\x1bPtmux;"),
        "{bytes:?}"
    );
    assert!(screen(&mut app, 160, 48).contains("copied the span as OTLP/JSON"));
}
