//! The review queue (`R`) and the review form (`r`) on ratatui's `TestBackend`, fed
//! deterministic demo traffic: queue order and snapshots (80x24, 160x48), the form's snapshot,
//! saving a human verdict into the store and a line into the reviews file, and Esc writing
//! nothing.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::model::TraceId;
use llmwatch::review::file::ReviewsFile;
use llmwatch::semconv::{SemconvConfig, VerdictSource};
use llmwatch::store::keep::KeepReason;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::theme::{ColorDepth, Theme};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

/// 2027-01-15 08:00:00 UTC.
const START: u64 = 1_800_000_000_000_000_000;

fn populated() -> Arc<Pipeline> {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let p = local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    );
    fill(&p, 42, 20.0, START, 180);
    p
}

fn app(p: &Arc<Pipeline>) -> App {
    let theme = Theme::load(Some("dark"))
        .unwrap()
        .for_depth(ColorDepth::TrueColor);
    App::new(
        p.clone(),
        Feed::Live {
            listen: vec!["grpc 127.0.0.1:4317".into()],
        },
        theme,
    )
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    app.handle(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Held traces with spans, oldest first arrival first.
fn traces(p: &Pipeline) -> Vec<TraceId> {
    let store = p.store();
    let mut ids: Vec<TraceId> = store
        .traces_newest_first()
        .filter(|t| !t.spans.is_empty())
        .map(|t| t.id)
        .collect();
    ids.reverse();
    ids
}

/// Keeps five traces for reasons of different priority; returns them in the queue's order.
fn keep_some(p: &Pipeline) -> Vec<TraceId> {
    let ids = traces(p);
    let (a, b, c, d, e) = (ids[10], ids[20], ids[30], ids[40], ids[50]);
    let mut store = p.store();
    // The demo's own failures keep traces too (failure-biased retention): start from a queue
    // of exactly these five.
    for id in &ids {
        let reasons: Vec<KeepReason> = store.trace(id).map_or(vec![], |t| t.kept.iter().collect());
        for r in reasons {
            store.unkeep(*id, r);
        }
    }
    assert!(store.keep(a, KeepReason::Slow));
    assert!(store.keep(b, KeepReason::FailedVerdict));
    assert!(store.keep(b, KeepReason::Error));
    assert!(store.keep(c, KeepReason::AlertExample));
    assert!(store.keep(d, KeepReason::FailedVerdict));
    assert!(store.keep(e, KeepReason::CostOutlier));
    assert!(!store.keep(e, KeepReason::CostOutlier), "a reason is held once");
    // Alert example first; failed verdicts newest first (d is newer than b); cost; slow.
    vec![c, d, b, e, a]
}

#[test]
fn the_queue_lists_kept_traces_by_priority_then_newest_and_opens_them() {
    let p = populated();
    let mut a = app(&p);
    let order = keep_some(&p);
    a.sync();
    press(&mut a, KeyCode::Char('R'));
    let small = screen(&mut a, 80, 24);
    assert!(small.contains("Review queue"), "{small}");
    insta::assert_snapshot!("review_queue_80x24", small);
    let big = screen(&mut a, 160, 48);
    insta::assert_snapshot!("review_queue_160x48", big);
    let listed: Vec<TraceId> = a.index.review_page(0, 10).map(|r| r.id).collect();
    assert_eq!(listed, order);
    let why: Vec<_> = big.lines().filter(|l| l.contains("failed eval")).collect();
    assert!(why.iter().any(|l| l.contains("failed eval, error")), "{big}");
    // Enter opens the selected (second) trace; Esc goes back to the queue, Esc again home.
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(order[1]));
    press(&mut a, KeyCode::Esc);
    assert!(a.drill.is_none() && a.ui.review.is_some());
    assert!(screen(&mut a, 80, 24).contains("Review queue"));
    press(&mut a, KeyCode::Esc);
    assert!(a.ui.review.is_none());
    assert!(screen(&mut a, 80, 24).contains("Traces"));
    // R from the drill-down opens the queue too.
    press(&mut a, KeyCode::Enter);
    assert!(a.drill.is_some());
    press(&mut a, KeyCode::Char('R'));
    assert!(a.drill.is_none() && a.ui.review.is_some());
}

#[test]
fn the_queue_is_kept_from_the_index_not_rebuilt_per_frame() {
    let p = populated();
    let mut a = app(&p);
    keep_some(&p);
    a.sync();
    press(&mut a, KeyCode::Char('R'));
    let before = a.index.refreshed_rows;
    for _ in 0..5 {
        screen(&mut a, 160, 48);
    }
    assert_eq!(a.index.refreshed_rows, before, "drawing the queue reads no trace");
    // A new reason re-reads only that trace.
    let id = traces(&p)[60];
    p.store().keep(id, KeepReason::ThumbsDown);
    a.sync();
    assert_eq!(a.index.refreshed_rows, before + 1);
    // Second: after the alert example, before the failed verdicts.
    assert_eq!(a.index.review_page(1, 1).next().map(|r| r.id), Some(id));
}

#[test]
fn the_form_saves_a_human_verdict_into_the_store_and_a_line_into_the_file() {
    let p = populated();
    let mut a = app(&p);
    let order = keep_some(&p);
    a.sync();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("reviews.jsonl");
    a.set_reviews(ReviewsFile::new(&path));
    press(&mut a, KeyCode::Char('R'));
    press(&mut a, KeyCode::Char('r'));
    let form = a.form.clone().expect("r opens the form");
    assert_eq!(form.trace_id, order[0]);
    insta::assert_snapshot!("review_form_80x24", screen(&mut a, 80, 24));
    // Enter before choosing says so and saves nothing.
    press(&mut a, KeyCode::Enter);
    assert!(a.form.as_ref().is_some_and(|f| f.error.is_some()));
    press(&mut a, KeyCode::Char('f'));
    type_str(&mut a, "stale-policy");
    press(&mut a, KeyCode::Tab);
    type_str(&mut a, "quotes the old refund policy");
    insta::assert_snapshot!("review_form_filled_80x24", screen(&mut a, 80, 24));
    press(&mut a, KeyCode::Enter);
    assert!(a.form.is_none());
    assert!(
        a.ui.note.as_deref().is_some_and(|n| n.contains("review saved")),
        "{:?}",
        a.ui.note
    );

    // The store holds it as a human verdict about the chosen span; the trace is kept for it.
    {
        let store = p.store();
        let t = store.trace(&order[0]).unwrap();
        let human: Vec<_> = t.verdicts.iter().filter(|v| v.is_human()).collect();
        assert_eq!(human.len(), 1);
        let v = human[0];
        assert_eq!((v.passed, v.score), (Some(false), Some(0.0)));
        assert_eq!(v.label.as_deref(), Some("stale-policy"));
        assert_eq!(v.explanation.as_deref(), Some("quotes the old refund policy"));
        assert_eq!(v.target, Some(form.span_id));
        assert_eq!(&*v.name, form.evaluator);
        assert!(t.kept.contains(KeepReason::Human));
    }
    // The queue row says reviewed.
    let row = a.index.review_page(0, 1).next().unwrap().clone();
    assert!(row.reviewed);

    // The file holds that one line, an OTLP logs request.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1);
    let req: ExportLogsServiceRequest = serde_json::from_str(text.trim()).unwrap();
    let rec = &req.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(rec.trace_id, order[0].0.to_vec());
    assert_eq!(rec.span_id, form.span_id.0.to_vec());

    // The drill-down shows the badge next to the span's other verdicts.
    press(&mut a, KeyCode::Enter);
    let d = a.drill.as_mut().unwrap();
    {
        let store = p.store();
        d.jump_to(store.trace(&order[0]).unwrap(), form.span_id);
    }
    let s = screen(&mut a, 160, 48);
    assert!(
        s.contains("👤 fail stale-policy") || s.contains("[human] fail stale-policy"),
        "{s}"
    );
}

#[test]
fn esc_cancels_the_form_and_writes_nothing() {
    let p = populated();
    let mut a = app(&p);
    keep_some(&p);
    a.sync();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reviews.jsonl");
    a.set_reviews(ReviewsFile::new(&path));
    // From the trace list this time.
    press(&mut a, KeyCode::Char('r'));
    assert!(a.form.is_some());
    press(&mut a, KeyCode::Char('p'));
    type_str(&mut a, "fine");
    press(&mut a, KeyCode::Esc);
    assert!(a.form.is_none());
    assert!(!path.exists());
    let store = p.store();
    assert!(
        store
            .traces_newest_first()
            .all(|t| t.verdicts.iter().all(|v| v.source != VerdictSource::Human))
    );
}

#[test]
fn r_in_the_drill_down_reviews_the_selected_span() {
    let p = populated();
    let mut a = app(&p);
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Down);
    let (trace, span) = {
        let store = p.store();
        let d = a.drill.as_ref().unwrap();
        let t = store.trace(&d.trace_id).unwrap();
        (t.id, d.selected_span(t).unwrap().span_id)
    };
    press(&mut a, KeyCode::Char('r'));
    let f = a.form.clone().unwrap();
    assert_eq!((f.trace_id, f.span_id), (trace, span));
    press(&mut a, KeyCode::Char('p'));
    press(&mut a, KeyCode::Enter);
    let msg = a
        .drill
        .as_ref()
        .and_then(|d| d.message.clone())
        .unwrap_or_default();
    assert!(msg.contains("no --reviews file"), "{msg}");
    let store = p.store();
    let t = store.trace(&trace).unwrap();
    let v = t.verdicts.iter().find(|v| v.is_human()).unwrap();
    assert_eq!((v.target, v.passed), (Some(span), Some(true)));
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Headless replay with `--reviews`, and `report CAPTURE REVIEWS`, count the review as a
/// verdict of its evaluator.
#[test]
fn the_reviews_file_is_a_capture_replay_and_report_read() {
    let fixture = format!("{}/tests/fixtures/otel_genai.jsonl", env!("CARGO_MANIFEST_DIR"));
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&fixture).unwrap().lines().next().unwrap()).unwrap();
    let span = &first["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    let review = llmwatch::review::Review {
        trace_id: TraceId::from_bytes(&hex(span["traceId"].as_str().unwrap())).unwrap(),
        span_id: llmwatch::model::SpanId::from_bytes(&hex(span["spanId"].as_str().unwrap())).unwrap(),
        evaluator: "human_review".into(),
        passed: false,
        label: "stale-policy".into(),
        note: "old".into(),
        reviewer: "ada".into(),
        event_unix_nano: span["endTimeUnixNano"].as_str().unwrap().parse().unwrap(),
        observed_unix_nano: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reviews.jsonl");
    ReviewsFile::new(&path).append(&review).unwrap();
    let path = path.to_str().unwrap();
    let human_row = |stdout: &str| -> Option<(u64, u64)> {
        let json: serde_json::Value = serde_json::from_str(stdout).unwrap();
        json["verdicts"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == "human_review")
            .map(|v| (v["count"].as_u64().unwrap(), v["fail"].as_u64().unwrap()))
    };
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmwatch"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let replayed = run(&[
        "replay",
        "--headless",
        "--speed",
        "max",
        &fixture,
        "--reviews",
        path,
    ]);
    assert_eq!(human_row(&replayed), Some((1, 1)), "{replayed}");
    let plain = run(&["replay", "--headless", "--speed", "max", &fixture]);
    assert_eq!(human_row(&plain), None);
    let reported = run(&["report", &fixture, path]);
    assert_eq!(human_row(&reported), Some((1, 1)), "{reported}");
}
