//! A person's verdicts on the screen: the evals pane's `human` column (`agree n/m` per
//! evaluator × cohort) and the person's verdict winning in the trace list and its filter.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::model::TraceId;
use llmwatch::semconv::SemconvConfig;
use llmwatch::semconv::{Verdict, VerdictSource};
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

/// The failing automatic Groundedness verdicts, as (trace, the verdict).
fn failing_groundedness(p: &Pipeline) -> Vec<(TraceId, Verdict)> {
    let store = p.store();
    store
        .traces_newest_first()
        .flat_map(|t| {
            t.verdicts
                .iter()
                .filter(|v| &*v.name == "Groundedness" && v.passed == Some(false) && !v.is_human())
                .map(|v| (t.id, v.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn human(of: &Verdict, passed: bool) -> Verdict {
    Verdict {
        source: VerdictSource::Human,
        passed: Some(passed),
        label: Some(Arc::from(if passed { "pass" } else { "fail" })),
        score: Some(if passed { 1.0 } else { 0.0 }),
        explanation: Some("checked against the policy".into()),
        reviewer: Some("alice".into()),
        ..of.clone()
    }
}

fn listed(app: &App) -> usize {
    app.index.len()
}

#[test]
fn a_person_overriding_the_judge_shows_in_the_evals_pane_list_and_drill_down() {
    let p = pipeline();
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::TrueColor);
    let mut app = App::new(p.clone(), Feed::Demo { rate: 20.0 }, theme);
    app.sync();
    let before = screen(&mut app, 220, 200);
    assert!(!before.contains("agree "), "{before}");
    press(&mut app, KeyCode::Char('/'));
    for c in "eval:Groundedness:fail".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    screen(&mut app, 220, 200);
    let failing_before = listed(&app);
    let judged = failing_groundedness(&p);
    assert!(judged.len() >= 3);
    // Two false alarms (a person passes what the judge failed), one confirmed failure.
    let (t0, v0) = &judged[0];
    p.store().insert_verdicts([
        human(v0, true),
        human(&judged[1].1, true),
        human(&judged[2].1, false),
    ]);
    app.sync();
    // Evaluators by name, so Groundedness is on screen.
    app.ui.evals_sort = llmwatch::ui::state::EvalSort::Name;
    app.ui.focus_on(llmwatch::ui::state::Pane::Evals);
    let mut s = screen(&mut app, 220, 200);
    for _ in 0..40 {
        if s.contains("Groundedness    all") {
            break;
        }
        press(&mut app, KeyCode::Down);
        s = screen(&mut app, 220, 200);
    }
    assert!(s.contains("human"), "{s}");
    assert!(s.contains("agree 1/3"), "{s}");
    // The trace list's evals column (and so the filter) takes the person's word.
    let overridden_traces = [judged[0].0, judged[1].0]
        .iter()
        .filter(|id| !judged[2..].iter().any(|(t, _)| t == *id))
        .count();
    assert_eq!(listed(&app), failing_before - overridden_traces);
    // The judge's verdict stays in the trace, set aside.
    let store = p.store();
    let t = store.trace(t0).unwrap();
    let i = t.verdicts.iter().position(|v| v == v0).unwrap();
    assert!(t.is_overridden(i));
}
