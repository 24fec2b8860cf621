//! The views on the number keys on ratatui's `TestBackend`, fed deterministic demo traffic
//! (spans, evaluation logs and the OTel GenAI client metrics): snapshots of the logs and
//! metrics views and of the footer naming the views at 80x24 and 160x48, their keys (`/`
//! filter, `f` follow, Enter on a log opens its trace), and `trace:ID` in the trace list's
//! filter opening the only match.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::state::Screen;
use llmwatch::ui::theme::{ColorDepth, Theme};
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
    fill(&p, 42, 20.0, START, 120);
    p
}

fn app(p: &Arc<Pipeline>) -> App {
    let theme = Theme::load(Some("dark"))
        .unwrap()
        .for_depth(ColorDepth::TrueColor);
    App::new(
        p.clone(),
        Feed::Live {
            listen: vec!["grpc 127.0.0.1:4317".into(), "http 127.0.0.1:4318".into()],
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

#[test]
fn number_keys_switch_views_and_the_footer_names_them() {
    let p = populated();
    let mut a = app(&p);
    let overview = screen(&mut a, 160, 48);
    let footer = overview.lines().last().unwrap().to_string();
    assert!(
        footer.contains("[1 overview] 2 sessions 3 logs 4 metrics"),
        "{footer}"
    );
    insta::assert_snapshot!("footer_overview_160", footer);
    let small = screen(&mut a, 80, 24);
    insta::assert_snapshot!("footer_overview_80", small.lines().last().unwrap());
    for (key, screen_is, mark) in [
        ('3', Screen::Logs, "[3 logs]"),
        ('4', Screen::Metrics, "[4 metrics]"),
        ('2', Screen::Sessions, "[2 sessions]"),
        ('1', Screen::Overview, "[1 overview]"),
    ] {
        press(&mut a, KeyCode::Char(key));
        assert_eq!(a.ui.screen, screen_is);
        let s = screen(&mut a, 160, 48);
        assert!(s.lines().last().unwrap().contains(mark), "{key}: {s}");
    }
    // The review queue gives way to a number key too.
    press(&mut a, KeyCode::Char('R'));
    press(&mut a, KeyCode::Char('4'));
    assert!(a.ui.review.is_none());
    assert_eq!(a.ui.screen, Screen::Metrics);
}

#[test]
fn logs_view_lists_logs_filters_follows_and_opens_the_trace() {
    let p = populated();
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('3'));
    let big = screen(&mut a, 160, 48);
    assert!(big.contains("Logs · newest first"), "{big}");
    insta::assert_snapshot!("logs_160x48", big);
    insta::assert_snapshot!("logs_80x24", screen(&mut a, 80, 24));

    // Filter: the demo's evaluation results are events with a trace; `severity:` and `body:`
    // are log fields.
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "severity:fatal");
    press(&mut a, KeyCode::Enter);
    let none = screen(&mut a, 160, 48);
    assert!(none.contains("no log matches the filter"), "{none}");
    press(&mut a, KeyCode::Esc);
    assert!(a.ui.logs.filter.applied.is_empty());

    // Moving down pins the list; f follows again.
    press(&mut a, KeyCode::Char('j'));
    assert!(!a.ui.logs.follow);
    assert!(screen(&mut a, 160, 48).contains("pinned (f: follow)"));
    press(&mut a, KeyCode::Char('f'));
    assert!(a.ui.logs.follow);
    assert_eq!(a.ui.logs.cursor, 0);

    // Enter on a log with a trace opens that trace.
    press(&mut a, KeyCode::Enter);
    let drill = a.drill.as_ref().expect("the log's trace opened");
    let store = p.store();
    let newest = store.logs_newest_first().next().unwrap().1;
    assert_eq!(Some(drill.trace_id), newest.trace_id);
}

#[test]
fn metrics_view_shows_the_demo_genai_client_metrics() {
    let p = populated();
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('4'));
    let big = screen(&mut a, 160, 48);
    for name in [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.server.time_to_first_token",
    ] {
        assert!(big.contains(name), "{name} missing:\n{big}");
    }
    assert!(big.contains("p50 "), "{big}");
    insta::assert_snapshot!("metrics_160x48", big);
    insta::assert_snapshot!("metrics_80x24", screen(&mut a, 80, 24));

    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "token.usage input");
    press(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("series match"), "{s}");
    assert!(!s.contains("type=output"), "{s}");
    assert!(s.contains("type=input"), "{s}");
}

#[test]
fn trace_id_in_the_filter_opens_the_only_match() {
    let p = populated();
    let mut a = app(&p);
    let id = p.store().traces_newest_first().nth(3).unwrap().id;
    let hex = id.to_string();
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, &format!("trace:{}", &hex[..12]));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(id));
    // Too short a prefix is an error shown while typing; Enter does not apply it.
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('/'));
    press(&mut a, KeyCode::Char('u'));
    type_str(&mut a, "x");
    a.handle(&Event::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    type_str(&mut a, "trace:0af7");
    press(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("8 to 32 hex digits"), "{s}");
    assert!(a.drill.is_none());
}
