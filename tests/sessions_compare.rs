//! The sessions view (`2`), a session as a conversation, comparing two traces (`=`) and the
//! GenAI-only tree (`a` in the drill-down) on ratatui's `TestBackend`, fed deterministic demo
//! traffic: snapshots at 80x24 and 160x48, and what the keys do.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::model::TraceId;
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::state::Screen;
use llmwatch::ui::theme::{ColorDepth, Theme};
use llmwatch::view::compare::Difference;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, BTreeSet};
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

/// Session id -> its traces, read from the store as a reference.
fn sessions_in_store(p: &Pipeline) -> BTreeMap<String, BTreeSet<TraceId>> {
    let store = p.store();
    let mut out: BTreeMap<String, BTreeSet<TraceId>> = BTreeMap::new();
    for t in store.traces_newest_first().filter(|t| !t.spans.is_empty()) {
        let pick = |s: &llmwatch::model::SpanRecord| {
            s.sem
                .as_deref()
                .and_then(|m| m.session.as_deref())
                .map(str::to_string)
        };
        let id = t.root().and_then(pick).or_else(|| t.spans.iter().find_map(pick));
        if let Some(id) = id {
            out.entry(id).or_default().insert(t.id);
        }
    }
    out
}

#[test]
fn sessions_group_the_demo_traces_and_drawing_reads_no_trace() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    let expected = sessions_in_store(&p);
    assert!(
        expected.values().any(|t| t.len() > 1),
        "the demo has multi-turn sessions"
    );
    let ix = a.index.sessions();
    assert_eq!(ix.total(), expected.len());
    assert_eq!(ix.len(), expected.len(), "no filter: every session is listed");
    for (id, traces) in &expected {
        let s = ix.get(id).expect("the session is indexed");
        assert_eq!(&s.trace_ids().collect::<BTreeSet<_>>(), traces, "{id}");
    }
    press(&mut a, KeyCode::Char('2'));
    assert_eq!(a.ui.screen, Screen::Sessions);
    let before = a.index.refreshed_rows;
    let small = screen(&mut a, 80, 24);
    assert!(small.contains("Sessions"), "{small}");
    insta::assert_snapshot!("sessions_list_80x24", small);
    insta::assert_snapshot!("sessions_list_160x48", screen(&mut a, 160, 48));
    assert_eq!(a.index.refreshed_rows, before, "drawing the list reads no trace");

    // Sorting by turns puts the longest session first.
    press(&mut a, KeyCode::Char('s'));
    let first = a.index.sessions().page(0, 1).next().unwrap();
    let most = expected.values().map(BTreeSet::len).max().unwrap();
    assert_eq!(first.turns.len(), most);

    // The filter applies: only sessions with an erroring trace stay, each with an error.
    press(&mut a, KeyCode::Char('/'));
    for c in "status:error".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    let ix = a.index.sessions();
    assert!(
        !ix.is_empty() && ix.len() < ix.total(),
        "{} of {}",
        ix.len(),
        ix.total()
    );
    assert!(ix.page(0, ix.len()).all(|s| s.errors > 0));
    assert!(screen(&mut a, 160, 48).contains("filter: status:error"));
    // Esc clears the filter, Esc again goes back to the overview.
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.index.sessions().len(), expected.len());
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.ui.screen, Screen::Overview);
    assert!(screen(&mut a, 80, 24).contains("Traces"));
}

#[test]
fn a_session_reads_as_a_conversation_and_a_turn_opens_its_trace() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    press(&mut a, KeyCode::Char('2'));
    // The session with most turns.
    press(&mut a, KeyCode::Char('s'));
    screen(&mut a, 160, 48);
    let session = a.ui.sessions.selected.clone().expect("a session is selected");
    let turns: Vec<TraceId> = a.index.sessions().get(&session).unwrap().trace_ids().collect();
    press(&mut a, KeyCode::Enter);
    let big = screen(&mut a, 160, 48);
    assert!(
        big.contains("turn 1") && big.contains("user") && big.contains("assistant"),
        "{big}"
    );
    insta::assert_snapshot!("conversation_160x48", big);
    insta::assert_snapshot!("conversation_80x24", screen(&mut a, 80, 24));
    // It opens on the newest turn; up selects the one before; Enter opens that trace.
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), Some(turns[turns.len() - 2]));
    // Esc comes back to the conversation, Esc again to the list, 1 to the overview.
    press(&mut a, KeyCode::Esc);
    assert!(a.drill.is_none() && a.ui.sessions.open.is_some());
    press(&mut a, KeyCode::Char('o'));
    assert!(a.drill.is_some(), "o opens the turn too");
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Esc);
    assert!(a.ui.sessions.open.is_none());
    press(&mut a, KeyCode::Char('1'));
    assert_eq!(a.ui.screen, Screen::Overview);
}

#[test]
fn two_turns_compare_side_by_side_and_equals_again_clears() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    press(&mut a, KeyCode::Char('2'));
    press(&mut a, KeyCode::Char('s'));
    screen(&mut a, 160, 48);
    let session = a.ui.sessions.selected.clone().unwrap();
    let turns: Vec<TraceId> = a.index.sessions().get(&session).unwrap().trace_ids().collect();
    press(&mut a, KeyCode::Enter);
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Char('='));
    assert_eq!(a.ui.compare_mark, turns.last().copied());
    assert!(screen(&mut a, 160, 48).contains("marked trace"));
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Char('='));
    let (left, right) = a.comparing().expect("= on a second trace compares");
    assert_eq!((left, right), (turns[turns.len() - 1], turns[turns.len() - 2]));
    assert!(screen(&mut a, 80, 24).contains("Compare A ↔ B"));
    // Esc goes back to the conversation (the mark stays); = in the comparison clears it.
    press(&mut a, KeyCode::Esc);
    assert!(a.comparing().is_none() && a.ui.sessions.open.is_some());
    assert!(a.ui.compare_mark.is_some());
    press(&mut a, KeyCode::Char('='));
    assert!(a.comparing().is_some());
    press(&mut a, KeyCode::Char('='));
    assert!(a.comparing().is_none() && a.ui.compare_mark.is_none());
}

#[test]
fn two_runs_of_one_route_align_step_by_step() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    filter(&mut a, "route:/research/brief");
    screen(&mut a, 160, 48);
    // The newest research briefs until two differ in shape.
    press(&mut a, KeyCode::Char('='));
    let left = a.ui.compare_mark.unwrap();
    let spans = |id: &TraceId| p.store().trace(id).unwrap().spans.len();
    loop {
        press(&mut a, KeyCode::Down);
        let id = a.ui.list.selected.unwrap();
        if spans(&id) != spans(&left) {
            break;
        }
    }
    let right = a.ui.list.selected.unwrap();
    press(&mut a, KeyCode::Char('='));
    assert_eq!(a.comparing(), Some((left, right)));
    // Every span of both sides is on exactly one row; the shared steps pair up.
    let rows = a.compare_rows();
    assert_eq!(rows.iter().filter(|r| r.left.is_some()).count(), spans(&left));
    assert_eq!(rows.iter().filter(|r| r.right.is_some()).count(), spans(&right));
    let paired = rows
        .iter()
        .filter(|r| r.left.is_some() && r.right.is_some())
        .count();
    assert!(paired >= spans(&left).min(spans(&right)) / 2, "{paired} paired");
    assert!(
        rows.iter()
            .any(|r| matches!(r.difference, Difference::OnlyLeft | Difference::OnlyRight))
    );
    assert_eq!(rows[0].depth, 0);
    let big = screen(&mut a, 160, 48);
    assert!(big.contains("Compare A ↔ B") && big.contains("only"), "{big}");
    insta::assert_snapshot!("compare_160x48", big);
    insta::assert_snapshot!("compare_80x24", screen(&mut a, 80, 24));
}

fn filter(a: &mut App, text: &str) {
    press(a, KeyCode::Char('/'));
    for c in text.chars() {
        press(a, KeyCode::Char(c));
    }
    press(a, KeyCode::Enter);
}

#[test]
fn the_trace_list_marks_and_compares_too() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    screen(&mut a, 160, 48);
    let first = a.ui.list.selected.unwrap();
    press(&mut a, KeyCode::Char('='));
    assert_eq!(a.ui.compare_mark, Some(first));
    press(&mut a, KeyCode::Char('='));
    assert_eq!(a.ui.compare_mark, None, "= on the marked trace clears the mark");
    press(&mut a, KeyCode::Char('='));
    press(&mut a, KeyCode::Down);
    let second = a.ui.list.selected.unwrap();
    press(&mut a, KeyCode::Char('='));
    assert_eq!(a.comparing(), Some((first, second)));
    press(&mut a, KeyCode::Esc);
    assert!(screen(&mut a, 80, 24).contains("Traces"));
}

#[test]
fn the_genai_toggle_hides_plumbing_and_keeps_the_structure() {
    let p = populated();
    let mut a = app(&p);
    a.sync();
    screen(&mut a, 160, 48);
    // An order-status trace: its tools' HTTP calls go, every GenAI span stays.
    press(&mut a, KeyCode::Char('/'));
    for c in "route:/support/order-status".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Enter);
    let all = a.drill.as_ref().expect("a trace opens").tree.rows.len();
    press(&mut a, KeyCode::Char('a'));
    let d = a.drill.as_ref().unwrap();
    assert!(d.tree.genai_only);
    let genai = d.tree.rows.len();
    assert!(genai < all, "the tools' HTTP calls are hidden: {genai} of {all}");
    let big = screen(&mut a, 160, 48);
    assert!(big.contains("GenAI spans"), "{big}");
    insta::assert_snapshot!("genai_tree_160x48", big);
    insta::assert_snapshot!("genai_tree_80x24", screen(&mut a, 80, 24));
    press(&mut a, KeyCode::Char('a'));
    let d = a.drill.as_ref().unwrap();
    assert!(!d.tree.genai_only);
    assert_eq!(d.tree.rows.len(), all, "a again shows every span");
}
