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
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
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

/// Two traces whose ids share their first eight hex digits, `1a2b3c4d`, beside the demo's.
fn with_twins() -> Arc<Pipeline> {
    let p = populated();
    let t = START + 30_000_000_000;
    let spans: Vec<serde_json::Value> = (1..=2u64)
        .map(|i| {
            serde_json::json!({
                "traceId": format!("1a2b3c4d{i:x}{:023x}", 7),
                "spanId": format!("{:016x}", 0x1a00 + i),
                "name": "twin",
                "kind": 2,
                "startTimeUnixNano": t.to_string(),
                "endTimeUnixNano": (t + 1_000_000).to_string(),
                "status": {},
            })
        })
        .collect();
    let text = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "twins"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]})
    .to_string();
    let req = llmwatch::ingest::otlp_json::owned_traces(text.as_bytes()).unwrap();
    llmwatch::ingest::export_traces_with(&p, req, llmwatch::ingest::WhenFull::Wait).unwrap();
    p.flush();
    p
}

/// `replay --open` takes a prefix of the id: one match opens it, several and none are said
/// on the note line with the prefix; so does `trace:` in the filter.
#[test]
fn a_prefix_of_the_id_opens_its_only_trace_and_says_how_many_match_otherwise() {
    use llmwatch::model::TraceIdPrefix;
    let p = with_twins();
    let prefix = |s: &str| TraceIdPrefix::parse(s).unwrap();
    let mut a = app(&p);
    a.open_when_arrived(prefix("1a2b3c4d"));
    assert!(a.drill.is_none());
    assert_eq!(
        a.ui.note.as_deref(),
        Some("2 traces match 1a2b3c4d (--open: give more of the id)")
    );
    let mut a = app(&p);
    a.open_when_arrived(prefix("1A2B3C4D2"));
    let twin = llmwatch::model::TraceId::from_hex(&format!("1a2b3c4d2{:023x}", 7)).unwrap();
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(twin));
    // The whole id is looked up directly.
    let mut a = app(&p);
    a.open_when_arrived(prefix(&twin.to_string()));
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(twin));
    // Live, a prefix nothing matches yet waits for its trace (a replay says so once done).
    let mut a = app(&p);
    a.open_when_arrived(prefix("ffffffff"));
    assert!(a.drill.is_none() && a.ui.note.is_none());

    // The filter's `trace:` says the same.
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "trace:1a2b3c4d");
    press(&mut a, KeyCode::Enter);
    assert!(a.drill.is_none());
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("2 traces match 1a2b3c4d: type more of the id"), "{s}");
    press(&mut a, KeyCode::Char('/'));
    a.handle(&Event::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    type_str(&mut a, "trace:ffffffff");
    press(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 160, 48);
    assert!(
        s.contains("no trace matches ffffffff among the held traces"),
        "{s}"
    );
}

fn mouse(a: &mut App, kind: MouseEventKind, row: u16) {
    let column = a.ui.view_rows.x + 2;
    a.handle(&Event::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }));
}

/// Clicks the `n`th row the view shows (0 = the top one).
fn click(a: &mut App, n: u16) {
    let row = a.ui.view_rows.y + n;
    mouse(a, MouseEventKind::Down(MouseButton::Left), row);
}

fn wheel(a: &mut App, down: bool) {
    let row = a.ui.view_rows.y;
    let kind = if down {
        MouseEventKind::ScrollDown
    } else {
        MouseEventKind::ScrollUp
    };
    mouse(a, kind, row);
}

/// The rows of the view drawn in the selection's colours, counted from the top one shown.
fn selected_rows(a: &mut App) -> Vec<u16> {
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| a.draw(f)).unwrap();
    let selection = Theme::load(Some("dark"))
        .unwrap()
        .for_depth(ColorDepth::TrueColor)
        .selection
        .bg;
    let rows = a.ui.view_rows;
    let buffer = t.backend().buffer();
    (rows.y..rows.bottom())
        .filter(|&y| buffer[(rows.x + 1, y)].bg == selection.unwrap_or_default())
        .map(|y| y - rows.y)
        .collect()
}

/// The mouse in the views as in the overview's trace list: a click selects the row under it
/// (drawn selected, and Enter acts on it as on the row reached with the arrow keys), the wheel
/// moves the selection three rows; in sessions, logs, metrics, a comparison and the queue.
#[test]
fn a_click_selects_a_row_of_every_view_and_the_wheel_moves_the_selection() {
    let p = populated();
    let mut a = app(&p);
    let mut keys = app(&p);
    // Logs: the fifth row, then Enter opens its trace as Down x4 Enter does.
    for v in [&mut a, &mut keys] {
        press(v, KeyCode::Char('3'));
        screen(v, 160, 48);
    }
    click(&mut a, 4);
    assert_eq!(selected_rows(&mut a), [4]);
    assert!(!a.ui.logs.follow, "a click off the newest log pins the list");
    for _ in 0..4 {
        press(&mut keys, KeyCode::Down);
    }
    wheel(&mut a, true);
    assert_eq!(selected_rows(&mut a), [7]);
    wheel(&mut a, false);
    assert_eq!(selected_rows(&mut a), [4]);
    press(&mut a, KeyCode::Enter);
    press(&mut keys, KeyCode::Enter);
    assert!(a.drill.is_some() || a.ui.note.is_some());
    assert_eq!(
        (a.drill.as_ref().map(|d| d.trace_id), &a.ui.note),
        (keys.drill.as_ref().map(|d| d.trace_id), &keys.ui.note)
    );
    // Metrics.
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('4'));
    screen(&mut a, 160, 48);
    click(&mut a, 2);
    assert_eq!(selected_rows(&mut a), [2]);
    wheel(&mut a, true);
    assert_eq!(a.ui.metrics.cursor, 5);
    // A click under the last row selects nothing new.
    let before = a.ui.metrics.cursor;
    let below = a.ui.view_rows.bottom();
    mouse(&mut a, MouseEventKind::Down(MouseButton::Left), below);
    assert_eq!(a.ui.metrics.cursor, before);
    // Sessions: the fourth; Enter opens its conversation.
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('2'));
    screen(&mut a, 160, 48);
    click(&mut a, 3);
    assert_eq!(selected_rows(&mut a), [3]);
    let fourth = a.index.sessions().page(3, 1).next().unwrap().id.clone();
    assert_eq!(a.ui.sessions.selected.as_ref(), Some(&fourth));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.ui.sessions.open.as_ref().map(|o| &o.session), Some(&fourth));
    // The wheel in the conversation steps through its turns, as the arrow keys do.
    screen(&mut a, 160, 48);
    let turn = a.ui.sessions.open.as_ref().unwrap().turn;
    wheel(&mut a, false);
    let up = a.ui.sessions.open.as_ref().unwrap().turn;
    assert!(up < turn || turn == 0, "{turn} -> {up}");
    // The review queue: the second row; Enter opens it.
    let mut a = app(&p);
    press(&mut a, KeyCode::Char('R'));
    screen(&mut a, 160, 48);
    click(&mut a, 1);
    assert_eq!(selected_rows(&mut a), [1]);
    let second = a.index.review_page(1, 1).next().unwrap().id;
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(second));
    // A comparison of the list's first two traces: the third step.
    let mut a = app(&p);
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Char('='));
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Char('='));
    assert!(a.comparing().is_some());
    screen(&mut a, 160, 48);
    click(&mut a, 2);
    assert_eq!(selected_rows(&mut a), [2]);
    wheel(&mut a, false);
    assert_eq!(selected_rows(&mut a), [0]);
}
