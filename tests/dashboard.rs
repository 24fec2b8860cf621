//! The real dashboard on ratatui's `TestBackend`, fed deterministic demo traffic (fixed seed and
//! start time, so the clock is fixed too): insta snapshots at 80x24 and 160x48 of the empty,
//! populated, filtered, paused and help screens and of each theme, plus key and mouse handling
//! and selection stability while traces arrive.

use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::demo::run::{fill, local_pipeline};
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::state::Pane;
use llmwatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use std::sync::Arc;

/// 2027-01-15 08:00:00 UTC.
const START: u64 = 1_800_000_000_000_000_000;

fn pipeline() -> Arc<Pipeline> {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    local_pipeline(
        store,
        handoff,
        Arc::new(SemconvConfig::default()),
        Arc::new(CostTable::bundled()),
    )
}

/// Three minutes of demo traffic at 20 spans/s (the cost spike starts at 60 s).
fn populated() -> Arc<Pipeline> {
    let p = pipeline();
    fill(&p, 42, 20.0, START, 180);
    p
}

fn app(p: &Arc<Pipeline>, theme: &str) -> App {
    let theme = Theme::load(Some(theme)).unwrap().for_depth(ColorDepth::TrueColor);
    App::new(
        p.clone(),
        Feed::Live {
            listen: vec!["grpc 127.0.0.1:4317".into(), "http 127.0.0.1:4318".into()],
        },
        theme,
    )
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
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
fn empty_screens() {
    let p = pipeline();
    let mut a = app(&p, "dark");
    insta::assert_snapshot!("empty_80x24", screen(&mut a, 80, 24));
    insta::assert_snapshot!("empty_160x48", screen(&mut a, 160, 48));
}

#[test]
fn populated_screens() {
    let p = populated();
    let mut a = app(&p, "dark");
    let small = screen(&mut a, 80, 24);
    assert!(small.contains("Traces"), "{small}");
    insta::assert_snapshot!("populated_80x24", small);
    let big = screen(&mut a, 160, 48);
    for pane in ["Volume 5m", "Latency by model", "Cost outliers", "Traces"] {
        assert!(big.contains(pane), "{pane} missing:\n{big}");
    }
    insta::assert_snapshot!("populated_160x48", big);
}

/// A wide latency pane adds the shape of each cohort's traces: model calls, tool spans and
/// repeated tool spans per trace (the demo's /support/refund agent loops over its tools).
#[test]
fn a_wide_latency_pane_shows_calls_tools_and_retries_per_trace() {
    let p = populated();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('c'));
    let s = screen(&mut a, 240, 48);
    // The pane: from its top-left corner to its bottom border, right of the volume pane.
    let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let (top, col) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let text: String = l.iter().collect();
            text.find("╭ Latency by route")
                .map(|b| (i, text[..b].chars().count()))
        })
        .expect("a latency pane");
    let pane: Vec<String> = lines[top..]
        .iter()
        .map(|l| {
            let line: String = l[col.min(l.len())..].iter().collect();
            line.trim_end_matches('"').to_string()
        })
        .take_while(|l| !l.starts_with('╰'))
        .collect();
    assert!(
        pane[1].contains("calls/tr tools/tr retry/tr"),
        "{}",
        pane.join("\n")
    );
    insta::assert_snapshot!("latency_by_route_wide_240x48", pane.join("\n"));
    // At 160 columns the pane is narrower and keeps its columns (see populated_160x48).
    assert!(!screen(&mut a, 160, 48).contains("calls/tr"));
}

#[test]
fn windows_and_cohorts_switch() {
    let p = populated();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('w'));
    press(&mut a, KeyCode::Char('c'));
    press(&mut a, KeyCode::Char('v'));
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("Volume 15m · by service"), "{s}");
    assert!(s.contains("Latency by route · 15m"), "{s}");
    assert!(s.contains("/support/refund"), "{s}");
    insta::assert_snapshot!("window_15m_by_route_160x48", s);
}

/// The spend headline: the volume title and the status bar say what the window costs, per
/// hour, tokens per minute and the error rate; `v` (twice: service, then model) splits the
/// spend by model in the legend.
#[test]
fn spend_headline_and_spend_by_model() {
    let p = populated();
    let mut a = app(&p, "dark");
    let big = screen(&mut a, 160, 48);
    let status = big.lines().find(|l| l.contains(" LIVE ")).unwrap();
    assert!(
        status.contains("$3.29 · $39/h · 454.2k tok/min · 11.4% err"),
        "{status}"
    );
    assert!(big.contains("Volume 5m $3.29 · $39/h 571 traces"), "{big}");
    press(&mut a, KeyCode::Char('v'));
    press(&mut a, KeyCode::Char('v'));
    let big = screen(&mut a, 160, 48);
    assert!(big.contains("Volume 5m · by model $3.29 · $39/h"), "{big}");
    // The legend is a line above the plot: each model with its spend.
    let legend = big
        .lines()
        .find(|l| l.contains("━ gpt-4o"))
        .unwrap_or_else(|| panic!("{big}"));
    assert!(legend.matches(" $").count() >= 2, "{legend}");
    insta::assert_snapshot!("spend_by_model_160x48", big);
    let small = screen(&mut a, 80, 24);
    assert!(small.contains("$39/h"), "{small}");
    insta::assert_snapshot!("spend_by_model_80x24", small);
}

#[test]
fn filtered_screens_and_inline_errors() {
    let p = populated();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "cost>abc");
    let typing = screen(&mut a, 80, 24);
    assert!(typing.contains("/cost>abc"), "{typing}");
    assert!(typing.contains('✗'), "the parse error shows inline:\n{typing}");
    press(&mut a, KeyCode::Enter);
    assert!(
        a.ui.filter.editing,
        "Enter on an invalid query keeps the editor open"
    );
    a.handle(&Event::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    type_str(&mut a, "route:/support/refund cost>0.02");
    press(&mut a, KeyCode::Enter);
    assert!(!a.ui.filter.editing);
    assert!(
        !a.index.is_empty() && a.index.len() < a.index.total(),
        "{} of {}",
        a.index.len(),
        a.index.total()
    );
    let shown = screen(&mut a, 160, 48);
    assert!(
        shown.contains("filter: route:/support/refund cost>0.02"),
        "{shown}"
    );
    insta::assert_snapshot!("filtered_160x48", shown);
    insta::assert_snapshot!("filtered_80x24", screen(&mut a, 80, 24));
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.index.len(), a.index.total(), "Esc clears the filter");
}

#[test]
fn pause_freezes_the_view_and_counts_what_arrives() {
    let p = pipeline();
    fill(&p, 42, 20.0, START, 60);
    let mut a = app(&p, "dark");
    let before = a.index.total();
    press(&mut a, KeyCode::Char(' '));
    // More traffic arrives while paused: the list does not move, the badge counts it.
    fill(&p, 43, 20.0, START + 60_000_000_000, 30);
    a.sync();
    a.tick_status_after(std::time::Duration::from_secs(1));
    assert_eq!(a.index.total(), before, "frozen");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("PAUSED +"), "{s}");
    insta::assert_snapshot!("paused_80x24", s);
    press(&mut a, KeyCode::Char(' '));
    assert!(a.index.total() > before, "resuming catches up");
}

#[test]
fn help_overlay_lists_the_keys_of_the_focused_pane() {
    let p = populated();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Keys") && s.contains("sort by time"), "{s}");
    insta::assert_snapshot!("help_80x24", s);
    press(&mut a, KeyCode::Char('x'));
    assert!(!a.ui.help, "any key closes the help");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 160, 48);
    assert!(
        s.contains("split: all, by service, by model"),
        "volume pane keys:\n{s}"
    );
    insta::assert_snapshot!("help_volume_160x48", s);
}

#[test]
fn each_theme_with_its_colours() {
    let p = populated();
    for name in Theme::builtin_names() {
        let mut a = app(&p, name);
        let t = draw(&mut a, 80, 24);
        // The buffer's Debug form lists the text and every style change: colours are checked.
        insta::assert_debug_snapshot!(format!("theme_{name}_80x24"), t.backend().buffer());
    }
}

#[test]
fn no_color_leaves_no_colour_in_the_buffer() {
    let p = populated();
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::None);
    let mut a = App::new(p.clone(), Feed::Demo { rate: 20.0 }, theme);
    let t = draw(&mut a, 80, 24);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
}

#[test]
fn sort_switch_orders_the_list() {
    let p = populated();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('s'));
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("sort: duration"), "{s}");
    let durs: Vec<u64> = a.index.page(0, 50).map(|r| r.duration_nanos).collect();
    assert!(durs.windows(2).all(|w| w[0] >= w[1]), "longest first: {durs:?}");
    press(&mut a, KeyCode::Char('s'));
    let costs: Vec<f64> = a.index.page(0, 50).map(|r| r.cost_usd.unwrap_or(0.0)).collect();
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "dearest first: {costs:?}");
    press(&mut a, KeyCode::Char('S'));
    assert!(screen(&mut a, 160, 48).contains("sort: duration"), "S goes back");
}

#[test]
fn focus_moves_with_tab_and_mouse() {
    let p = populated();
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    assert_eq!(a.ui.focus, Pane::Traces);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.ui.focus, Pane::Volume);
    a.handle(&Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
    assert_eq!(a.ui.focus, Pane::Traces);
    let lat = a.ui.areas.latency;
    a.handle(&Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: lat.x + 2,
        row: lat.y + 2,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(a.ui.focus, Pane::Latency);
    // A click on the fourth trace row selects it.
    let rows = a.ui.areas.trace_rows;
    a.handle(&Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: rows.x + 3,
        row: rows.y + 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(a.ui.focus, Pane::Traces);
    assert_eq!(a.ui.list.cursor, 3);
    let third = a.index.page(3, 1).next().unwrap().id;
    assert_eq!(a.ui.list.selected, Some(third));
}

#[test]
fn the_selection_stays_on_its_trace_while_traces_arrive() {
    let p = pipeline();
    fill(&p, 42, 20.0, START, 60);
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Char('j'));
    let chosen = a.ui.list.selected.expect("a selection");
    assert_eq!(a.ui.list.cursor, 2);
    let line = a.ui.list.cursor - a.ui.list.offset;
    // A minute more: newer traces sort above the chosen one.
    fill(&p, 43, 20.0, START + 60_000_000_000, 60);
    a.sync();
    screen(&mut a, 160, 48);
    assert_eq!(a.ui.list.selected, Some(chosen));
    assert!(
        a.ui.list.cursor > 2,
        "it moved down the list: {}",
        a.ui.list.cursor
    );
    assert_eq!(a.index.page(a.ui.list.cursor, 1).next().unwrap().id, chosen);
    assert_eq!(
        a.ui.list.cursor - a.ui.list.offset,
        line,
        "and stays on the same screen line"
    );
    // g goes back to the top, which follows the newest trace again.
    press(&mut a, KeyCode::Char('g'));
    fill(&p, 44, 20.0, START + 120_000_000_000, 10);
    a.sync();
    screen(&mut a, 160, 48);
    assert_eq!(a.ui.list.cursor, 0);
    assert_eq!(a.ui.list.selected, a.index.page(0, 1).next().map(|r| r.id));
}

#[test]
fn enter_on_an_outlier_selects_its_trace() {
    let p = populated();
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.ui.focus, Pane::Outliers);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.ui.focus, Pane::Traces);
    let id = a.ui.list.selected.expect("selected");
    screen(&mut a, 160, 48);
    assert_eq!(
        a.ui.list.selected,
        Some(id),
        "the outlier's trace is selected in the list"
    );
}

#[test]
fn span_content_cannot_drive_the_terminal() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let p = pipeline();
    let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"evil\u001b]0;pwned\u0007svc"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"root \u001b[2J\u001b[31mRED","kind":2,"startTimeUnixNano":"1800000000000000000","endTimeUnixNano":"1800000001000000000","attributes":[{"key":"http.route","value":{"stringValue":"/x\u001b[H"}}]}]}]}]}"#;
    let req: ExportTraceServiceRequest = serde_json::from_str(json).unwrap();
    llmwatch::ingest::export_traces_with(&p, req, llmwatch::ingest::WhenFull::Wait).unwrap();
    p.flush();
    let mut a = app(&p, "dark");
    let t = draw(&mut a, 160, 48);
    let s = t.backend().to_string();
    assert!(s.contains("root RED"), "{s}");
    for cell in t.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "control character in {cell:?}"
        );
    }
}

#[test]
fn replay_shows_its_position_and_obeys_pause_and_speed_keys() {
    use llmwatch::replay::{ReplayControl, Speed};
    use std::sync::atomic::Ordering;
    let p = populated();
    let control = Arc::new(ReplayControl::new(Speed::Times(10.0)));
    control.set_position(START + 122_000_000_000);
    control.bytes_total.store(400, Ordering::Relaxed);
    control.bytes_read.store(252, Ordering::Relaxed);
    let theme = Theme::load(None).unwrap();
    let mut a = App::new(
        p.clone(),
        Feed::Replay {
            files: vec!["capture.jsonl.gz".into()],
            control: control.clone(),
        },
        theme,
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("REPLAY 10x 08:02:02 (63%)"), "{s}");
    insta::assert_snapshot!("replay_80x24", s);
    // The replay's own keys are in the footer even at 80 columns, and help lists them.
    let footer = s.lines().last().unwrap();
    assert!(
        footer.contains("p pause") && footer.contains("+/- speed"),
        "{footer}"
    );
    // Both rates, labelled, where there is room; squeezed, the event rate stays, labelled.
    let widest = screen(&mut a, 240, 48);
    let status = widest.lines().next().unwrap();
    assert!(
        status.contains("/s wall · ") && status.contains("/s event"),
        "{status}"
    );
    let wide = screen(&mut a, 160, 48);
    let status = wide.lines().next().unwrap();
    assert!(
        status.contains("/s event") && !status.contains("traces/s"),
        "{status}"
    );
    insta::assert_snapshot!("replay_160x48", wide);
    // `=` is compare's, not a speed key.
    press(&mut a, KeyCode::Char('='));
    assert_eq!(control.speed(), Speed::Times(10.0));
    press(&mut a, KeyCode::Char('+'));
    assert_eq!(control.speed(), Speed::Times(20.0));
    press(&mut a, KeyCode::Char('-'));
    press(&mut a, KeyCode::Char('-'));
    assert_eq!(control.speed(), Speed::Times(5.0));
    press(&mut a, KeyCode::Char('p'));
    assert!(control.paused());
    assert!(screen(&mut a, 80, 24).contains("REPLAY PAUSED"));
    press(&mut a, KeyCode::Char('p'));
    assert!(!control.paused());
    press(&mut a, KeyCode::Char('?'));
    assert!(screen(&mut a, 160, 48).contains("replay faster / slower"));
}

fn focus_evals(a: &mut App) {
    while a.ui.focus != Pane::Evals {
        press(a, KeyCode::Tab);
    }
}

#[test]
fn evals_pane_screens() {
    let p = populated();
    let mut a = app(&p, "dark");
    // Wide: outliers and evals side by side, nothing focused there yet.
    let big = screen(&mut a, 160, 48);
    assert!(
        big.contains("Cost outliers") && big.contains("Evals by model"),
        "{big}"
    );
    assert!(big.contains("coverage "), "{big}");
    focus_evals(&mut a);
    let big = screen(&mut a, 160, 48);
    insta::assert_snapshot!("evals_160x48", big);
    // Narrow: the evals pane takes the outliers' place while it was focused last.
    let small = screen(&mut a, 80, 24);
    assert!(
        small.contains("Evals by model") && !small.contains("Cost outliers"),
        "{small}"
    );
    insta::assert_snapshot!("evals_80x24", small);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.ui.focus, Pane::Traces);
    assert!(
        screen(&mut a, 80, 24).contains("Evals by model"),
        "still the last one focused"
    );
    a.handle(&Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
    a.handle(&Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)));
    assert_eq!(a.ui.focus, Pane::Outliers);
    let small = screen(&mut a, 80, 24);
    assert!(
        small.contains("Cost outliers") && !small.contains("Evals by"),
        "{small}"
    );
    // By route, through `c` as in the latency pane.
    focus_evals(&mut a);
    press(&mut a, KeyCode::Char('c'));
    let s = screen(&mut a, 160, 48);
    assert!(
        s.contains("Evals by route") && s.contains("Latency by route"),
        "{s}"
    );
}

#[test]
fn evals_pane_sorts_with_s() {
    use llmwatch::ui::state::EvalSort;
    use llmwatch::ui::view::eval_rows;
    let p = populated();
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    focus_evals(&mut a);
    let window = a.ui.window();
    let rows = |a: &App| eval_rows(&a.index, window, a.ui.latency_dim, a.ui.evals_sort);
    let alls = |a: &App| {
        rows(a)
            .into_iter()
            .filter(|r| r.cohort.is_none())
            .collect::<Vec<_>>()
    };
    // The default: significant changes first, then the steady rows by fail rate.
    assert_eq!(a.ui.evals_sort, EvalSort::Significant);
    let sig: Vec<bool> = alls(&a).iter().map(|r| r.significant()).collect();
    assert!(sig.windows(2).all(|w| w[0] >= w[1]), "significant first: {sig:?}");
    let steady: Vec<f64> = alls(&a)
        .iter()
        .filter(|r| !r.significant())
        .map(|r| r.stats.fail_rate().unwrap_or(-1.0))
        .collect();
    assert!(steady.windows(2).all(|w| w[0] >= w[1]), "{steady:?}");
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.ui.evals_sort, EvalSort::FailRate);
    let by_rate: Vec<f64> = alls(&a)
        .iter()
        .map(|r| r.stats.fail_rate().unwrap_or(-1.0))
        .collect();
    assert!(by_rate.len() >= 3, "{by_rate:?}");
    assert!(
        by_rate.windows(2).all(|w| w[0] >= w[1]),
        "worst first: {by_rate:?}"
    );
    // Within an evaluator, its cohorts follow its "all" row, worst first too.
    let all = rows(&a);
    let first_group: Vec<f64> = all[1..]
        .iter()
        .take_while(|r| r.cohort.is_some())
        .map(|r| r.stats.fail_rate().unwrap_or(-1.0))
        .collect();
    assert!(
        !first_group.is_empty() && first_group.windows(2).all(|w| w[0] >= w[1]),
        "{first_group:?}"
    );
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.ui.evals_sort, EvalSort::Change);
    assert_eq!(
        a.index.sort(),
        llmwatch::view::index::SortKey::Time,
        "the list's sort is untouched"
    );
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.ui.evals_sort, EvalSort::Count);
    let counts: Vec<u64> = alls(&a).iter().map(|r| r.stats.n).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most first: {counts:?}");
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.ui.evals_sort, EvalSort::Name);
    let names: Vec<String> = alls(&a).iter().map(|r| r.evaluator.to_lowercase()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(screen(&mut a, 160, 48).contains("sort: name"));
    press(&mut a, KeyCode::Char('S'));
    assert_eq!(a.ui.evals_sort, EvalSort::Mean);
    let means: Vec<f64> = alls(&a)
        .iter()
        .map(|r| r.stats.mean_score().unwrap_or(f64::MAX))
        .collect();
    assert!(means.windows(2).all(|w| w[0] <= w[1]), "lowest first: {means:?}");
}

#[test]
fn enter_on_an_evals_row_lists_its_failing_traces() {
    use llmwatch::ui::view::eval_rows;
    let p = populated();
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    focus_evals(&mut a);
    // The first cohort row of the worst evaluator.
    press(&mut a, KeyCode::Down);
    let row = eval_rows(&a.index, a.ui.window(), a.ui.latency_dim, a.ui.evals_sort)[1].clone();
    let (evaluator, model) = (row.evaluator.to_string(), row.cohort.clone().unwrap().to_string());
    assert!(row.stats.failed > 0, "{row:?}");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.ui.focus, Pane::Traces);
    assert_eq!(
        a.ui.filter.applied,
        format!("eval:{evaluator}:fail model={model}")
    );
    assert!(!a.index.is_empty() && a.index.len() < a.index.total());
    for r in a.index.page(0, a.index.len()) {
        assert!(
            r.verdicts
                .iter()
                .any(|v| *v.name == *evaluator && v.passed == Some(false)),
            "{r:?}"
        );
        assert!(r.models.iter().any(|m| **m == *model), "{r:?}");
    }
    let shown = screen(&mut a, 160, 48);
    assert!(
        shown.contains(&format!("filter: eval:{evaluator}:fail model={model}")),
        "{shown}"
    );
    assert_eq!(a.ui.list.cursor, 0);
    assert_eq!(a.ui.list.selected, a.index.page(0, 1).next().map(|r| r.id));
    // Enter again drills down into that trace.
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.drill.as_ref().map(|d| d.trace_id), a.ui.list.selected);
    press(&mut a, KeyCode::Esc);
    // The "all" row: the evaluator alone.
    focus_evals(&mut a);
    press(&mut a, KeyCode::Char('g'));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.ui.filter.applied, format!("eval:{evaluator}:fail"));
}

#[test]
fn a_click_focuses_the_evals_pane_and_selects_a_row() {
    let p = populated();
    let mut a = app(&p, "dark");
    screen(&mut a, 160, 48);
    let rows = a.ui.areas.eval_rows;
    assert!(rows.height > 0);
    a.handle(&Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: rows.x + 2,
        row: rows.y + 2,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(a.ui.focus, Pane::Evals);
    assert_eq!(a.ui.evals_cursor, 2);
    press(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("list that row's failing traces"), "{s}");
}

fn demo_rules() -> llmwatch::alert::RuleSet {
    llmwatch::alert::RuleSet::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/demo/alerts.toml"
    )))
    .unwrap()
}

/// The demo's example rules on the screen: the alerts strip under the status bar, the banner
/// while one fires, Enter opening an example trace, and alerts that keep firing while the view
/// is frozen.
#[test]
fn alerts_strip_banner_and_example_traces() {
    use llmwatch::demo::run::feed_local;
    use llmwatch::demo::{DemoConfig, DemoGenerator};
    let p = pipeline();
    let mut generator = DemoGenerator::new(DemoConfig {
        seed: 42,
        spans_per_sec: 20.0,
        start_unix_nano: START,
    });
    let mut feed = |p: &Arc<Pipeline>, seconds: u64| {
        for _ in 0..seconds {
            feed_local(p, generator.next_second());
        }
        p.flush();
    };
    let mut a = app(&p, "dark");
    a.watch_rules(
        demo_rules(),
        llmwatch::alert::EngineOptions {
            wall_clock: false,
            ..llmwatch::alert::EngineOptions::live()
        },
    );
    insta::assert_snapshot!("alerts_none_80x24", screen(&mut a, 80, 24));

    // 130 s: the cost spike on /support/refund is firing.
    feed(&p, 130);
    a.sync();
    insta::assert_snapshot!("alerts_firing_160x48", screen(&mut a, 160, 48));
    let small = screen(&mut a, 80, 24);
    insta::assert_snapshot!("alerts_firing_80x24", small);
    assert!(
        small
            .lines()
            .next()
            .unwrap()
            .contains("▲ 1 ALERT cost-spike route=/support/refund")
    );

    // Tab from the trace list wraps to the alerts strip; Enter opens an example trace.
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.ui.focus, Pane::Alerts);
    press(&mut a, KeyCode::Enter);
    let drill = a.drill.as_ref().expect("an example trace opens");
    let route = a.index.row(&drill.trace_id).and_then(|r| r.route.clone());
    assert_eq!(route.as_deref(), Some("/support/refund"));
    let opened = screen(&mut a, 160, 48);
    assert!(
        opened.lines().next().unwrap().contains("▲ 1 ALERT"),
        "the banner stays in the drill-down"
    );
    press(&mut a, KeyCode::Esc);

    // Frozen: the list stands still, the alerts do not.
    press(&mut a, KeyCode::Char(' '));
    let held = a.index.total();
    feed(&p, 200);
    a.sync();
    assert_eq!(a.index.total(), held, "the frozen list does not move");
    let fired: Vec<String> = a
        .alerts
        .as_ref()
        .unwrap()
        .alerts()
        .iter()
        .map(|x| {
            format!(
                "{} {:?} {}",
                a.alerts.as_ref().unwrap().rules()[x.rule].name,
                x.cohort,
                x.firing
            )
        })
        .collect();
    assert!(
        fired.contains(&"slow-first-token Some(\"claude-sonnet-4-5\") false".to_string()),
        "{fired:?}"
    );
    assert!(
        fired.contains(&"groundedness-drop Some(\"globex\") true".to_string()),
        "{fired:?}"
    );
    press(&mut a, KeyCode::Char(' '));
    assert!(a.index.total() > held, "unfrozen, the list catches up");
    let shot = screen(&mut a, 160, 48);
    assert!(
        shot.contains("● FIRING   groundedness-drop tenant=globex"),
        "{shot}"
    );
    assert!(
        shot.contains("✓ resolved cost-spike route=/support/refund"),
        "{shot}"
    );
}

/// Ctrl-Z arrives as a key in raw mode: the loop asks the terminal to suspend (hand it back,
/// stop the process), then redraws the whole frame once continued.
#[test]
fn ctrl_z_suspends_through_the_terminal_then_redraws() {
    use llmwatch::signals::Interrupts;
    use llmwatch::ui::run::{Step, event_loop};
    let p = pipeline();
    let mut a = app(&p, "dark");
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(Event::Key(KeyEvent::new(
        KeyCode::Char('z'),
        KeyModifiers::CONTROL,
    )))
    .unwrap();
    let signals = Interrupts::none();
    let mut steps = Vec::new();
    event_loop(&mut a, &rx, &signals, |_, step| {
        steps.push(step);
        if steps.ends_with(&[Step::Suspend, Step::Draw]) {
            signals.request_stop();
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        steps.iter().filter(|s| **s == Step::Suspend).count(),
        1,
        "{steps:?}"
    );
    assert_eq!(steps.last(), Some(&Step::Draw), "{steps:?}");
    assert!(!a.ui.quit && !a.ui.suspend);
    drop(tx);
}

/// Long names nothing on screen has room for, beside the demo's own.
const LONG_ROUTE: &str = "/zz/organizations/acme-corporation/projects/support-chat";
const LONG_TENANT: &str = "zz-tenant-with-an-extraordinarily-long-identifier";
const LONG_SERVICE: &str = "zz-customer-support-orchestrator-eu-west-1";
const LONG_EVALUATOR: &str = "ZetaGroundingCitationCheckLongName";
const LONG_MODEL: &str = "claude-sonnet-4-5-20250929";

/// Every value the screens may show that could be cut: the long ones and the demo's.
const NAMES: &[&str] = &[
    LONG_ROUTE,
    LONG_TENANT,
    LONG_SERVICE,
    LONG_EVALUATOR,
    LONG_MODEL,
    "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001",
    "claude-haiku-4-5",
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-mini",
    "gpt-4o-2024-08-06",
    "gpt-4o",
    "o4-mini",
    "text-embedding-3-small",
    "/support/order-status",
    "/support/refund",
    "/support/triage",
    "/research/brief",
    "research-assistant",
    "support-agent",
    "HallucinationScore",
    "Groundedness",
];

/// `n` traces of one priced chat call each under the long names, a second apart from
/// `start_s` (unix seconds); the last costs a hundred times the others.
fn long_named(start_s: u64, n: u64) -> String {
    let attr = |k: &str, v: &str| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let int = |k: &str, v: u64| serde_json::json!({"key": k, "value": {"intValue": v.to_string()}});
    let spans: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let t = (start_s + i) * 1_000_000_000;
            let input = if i + 1 == n { 100_000 } else { 1_000 };
            serde_json::json!({
                "traceId": format!("{:032x}", 0x7a7a_0000 + i),
                "spanId": format!("{:016x}", 0x7a00 + i),
                "name": format!("chat {LONG_MODEL}"),
                "kind": 3,
                "startTimeUnixNano": t.to_string(),
                "endTimeUnixNano": (t + 1_500_000_000).to_string(),
                "attributes": [
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.provider.name", "anthropic"),
                    attr("gen_ai.request.model", LONG_MODEL),
                    int("gen_ai.usage.input_tokens", input),
                    int("gen_ai.usage.output_tokens", 200),
                    attr("tenant.id", LONG_TENANT),
                    attr("app.route", LONG_ROUTE),
                ],
                "events": [{
                    "name": "gen_ai.evaluation.result",
                    "timeUnixNano": (t + 1_500_000_000).to_string(),
                    "attributes": [
                        attr("gen_ai.evaluation.name", LONG_EVALUATOR),
                        {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.25}},
                        attr("gen_ai.evaluation.score.label", "fail"),
                    ],
                }],
                "status": {},
            })
        })
        .collect();
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", LONG_SERVICE)]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]})
    .to_string()
}

/// Where a name shows on `line`, it shows whole (followed by a non-name character) or cut with
/// `…` right after what is shown of it. Names are found by their first six characters.
fn assert_cuts_marked(line: &str, screen: &str) {
    let chars: Vec<char> = line.chars().collect();
    let word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | ':');
    for start in 0..chars.len() {
        if start > 0 && word(chars[start - 1]) {
            continue;
        }
        let rest = &chars[start..];
        let mut best: Option<(usize, bool)> = None;
        for name in NAMES {
            let n: Vec<char> = name.chars().collect();
            if rest.len() < 6 || n.len() < 6 || rest[..6] != n[..6] {
                continue;
            }
            let k = rest.iter().zip(&n).take_while(|(a, b)| a == b).count();
            let whole = k == n.len() && rest.get(k).is_none_or(|c| !word(*c));
            if whole {
                best = Some((k, true));
                break;
            }
            if best.is_none_or(|(b, _)| k > b) {
                best = Some((k, false));
            }
        }
        if let Some((k, false)) = best {
            assert_eq!(
                rest.get(k),
                Some(&'…'),
                "a name cut without …: {:?} in line {line:?}\n{screen}",
                rest.iter().take(k + 1).collect::<String>()
            );
        }
    }
}

/// No amount is cut: every `$` is followed by a whole amount as `fmt_usd` / `fmt_spend` write
/// them (`$0.0012`, `$0.012`, `$1.84`, `$1,204`, `<$0.0001`).
fn assert_amounts_whole(line: &str, screen: &str) {
    if let Some(amount) = amount_cut(line) {
        panic!("an amount cut: ${amount:?} in line {line:?}\n{screen}");
    }
}

/// The first amount on `line` that is not whole (see [`assert_amounts_whole`]); a `$` alone
/// is the key that sorts by cost.
fn amount_cut(line: &str) -> Option<String> {
    line.match_indices('$').find_map(|(i, _)| {
        if line[i + 1..].starts_with(' ') {
            return None;
        }
        let amount: String = line[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
            .collect();
        let ok = match amount.split_once('.') {
            None => !amount.is_empty() && !amount.ends_with(','),
            Some((int, frac)) => match (int, frac.len()) {
                ("0", 3 | 4) => true,
                ("0", 2) => !frac.starts_with('0'),
                (_, 2 | 3) => true,
                _ => false,
            },
        };
        (!ok).then_some(amount)
    })
}

#[test]
fn nothing_is_cut_without_a_mark_at_any_width() {
    let p = populated();
    let t0 = START / 1_000_000_000 + 150;
    let req = llmwatch::ingest::otlp_json::owned_traces(long_named(t0, 30).as_bytes()).unwrap();
    llmwatch::ingest::export_traces_with(&p, req, llmwatch::ingest::WhenFull::Wait).unwrap();
    p.flush();
    let mut a = app(&p, "dark");
    let check = |a: &mut App, w: u16, h: u16, what: &str| {
        let s = screen(a, w, h);
        assert!(
            s.contains("…"),
            "{what} {w}x{h}: long names are cut somewhere\n{s}"
        );
        for line in s.lines() {
            assert_cuts_marked(line, &s);
            assert_amounts_whole(line, &s);
        }
    };
    for (dim, what) in [(0, "by model"), (1, "by route"), (3, "by tenant")] {
        while a.ui.latency_dim != dim {
            press(&mut a, KeyCode::Char('c'));
        }
        for w in [80, 100, 120, 160] {
            for h in [24, 48] {
                check(&mut a, w, h, what);
            }
        }
    }
    // The review queue holds the long-named traces too (failed verdicts, the cost outlier).
    press(&mut a, KeyCode::Char('R'));
    for w in [80, 100, 120, 160] {
        check(&mut a, w, 24, "queue");
    }
}

/// Names of the long session: span names, attribute values, ids and texts wider than any pane.
const LONG_AGENT: &str = "ZetaOrchestratorAgentWithAnExtraordinarilyLongName";
const LONG_TOOL: &str = "zz_lookup_customer_order_history_across_every_region";
const LONG_SESSION: &str = "zz-session-4f1c2a9b-7d3e-4e8a-9c51-0b6d2e7f8a13-support";
const LONG_USER: &str = "zz-user-maximilian.alexander@example-enterprise.com";
const LONG_VALUE: &str = "zz-attribute-value-that-runs-far-past-any-pane-width-without-a-single-space";
const LONG_BODY: &str = "zz-log-body-the-agent-retried-the-order-history-lookup-three-times-then-gave-up";
const LONG_METRIC: &str = "zz.genai.client.operation.duration.per.tenant.and.region";
const LONG_QUESTION: &str = "Zz-where-is-my-order-it-was-promised-for-monday-and-nothing-has-arrived";

/// [`NAMES`] and the long session's names.
fn long_names() -> Vec<&'static str> {
    let mut names = NAMES.to_vec();
    names.extend([
        LONG_AGENT,
        LONG_TOOL,
        LONG_SESSION,
        LONG_USER,
        LONG_VALUE,
        LONG_BODY,
        LONG_METRIC,
        LONG_QUESTION,
    ]);
    names
}

/// Two turns of one session under the long names, `start_s` and `start_s + 5` (unix
/// seconds): an agent span over a tool call and a priced chat call with a long conversation,
/// a long attribute value everywhere, and large figures (1,234,567 input tokens).
fn long_session(start_s: u64) -> String {
    let attr = |k: &str, v: &str| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let int = |k: &str, v: u64| serde_json::json!({"key": k, "value": {"intValue": v.to_string()}});
    let messages = |role: &str, text: &str| {
        serde_json::json!([{"role": role, "parts": [{"type": "text", "content": text}]}]).to_string()
    };
    let mut spans = Vec::new();
    for turn in 0..2u64 {
        let t = (start_s + turn * 5) * 1_000_000_000;
        let trace = format!("{:032x}", 0x7b7b_0000 + turn);
        let id = |n: u64| format!("{:016x}", 0x7b00 + turn * 16 + n);
        let span =
            |n: u64, parent: Option<u64>, name: String, from: u64, to: u64, attrs: Vec<serde_json::Value>| {
                serde_json::json!({
                    "traceId": trace,
                    "spanId": id(n),
                    "parentSpanId": parent.map(id).unwrap_or_default(),
                    "name": name,
                    "kind": if parent.is_some() { 3 } else { 1 },
                    "startTimeUnixNano": (t + from).to_string(),
                    "endTimeUnixNano": (t + to).to_string(),
                    "attributes": attrs,
                    "status": {},
                })
            };
        let common = || {
            vec![
                attr("session.id", LONG_SESSION),
                attr("user.id", LONG_USER),
                attr("app.note", LONG_VALUE),
            ]
        };
        let mut root = common();
        root.extend([
            attr("gen_ai.operation.name", "invoke_agent"),
            attr("gen_ai.agent.name", LONG_AGENT),
            attr("tenant.id", LONG_TENANT),
        ]);
        spans.push(span(
            0,
            None,
            format!("invoke_agent {LONG_AGENT}"),
            0,
            4_000_000_000,
            root,
        ));
        let mut tool = common();
        tool.extend([
            attr("gen_ai.operation.name", "execute_tool"),
            attr("gen_ai.tool.name", LONG_TOOL),
        ]);
        spans.push(span(
            1,
            Some(0),
            format!("execute_tool {LONG_TOOL}"),
            100_000_000,
            900_000_000,
            tool,
        ));
        let mut chat = common();
        chat.extend([
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.provider.name", "anthropic"),
            attr("gen_ai.request.model", LONG_MODEL),
            int("gen_ai.usage.input_tokens", 1_234_567),
            int("gen_ai.usage.output_tokens", 98_765),
            attr("gen_ai.input.messages", &messages("user", LONG_QUESTION)),
            attr("gen_ai.output.messages", &messages("assistant", LONG_BODY)),
        ]);
        spans.push(span(
            2,
            Some(0),
            format!("chat {LONG_MODEL}"),
            1_000_000_000,
            3_900_000_000,
            chat,
        ));
    }
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", LONG_SERVICE)]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]})
    .to_string()
}

/// Log records of the long session (a long service, body and attribute, linked to the first
/// turn) and a gauge and a histogram under a long metric name and long attribute values.
fn long_logs_and_metrics(start_s: u64) -> (String, String) {
    let attr = |k: &str, v: &str| serde_json::json!({"key": k, "value": {"stringValue": v}});
    let t = (start_s * 1_000_000_000).to_string();
    let logs = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [attr("service.name", LONG_SERVICE)]},
        "scopeLogs": [{"scope": {"name": "test"}, "logRecords": (0..3).map(|i| serde_json::json!({
            "timeUnixNano": t,
            "severityNumber": 17 - 4 * i,
            "body": {"stringValue": LONG_BODY},
            "traceId": format!("{:032x}", 0x7b7b_0000u64),
            "spanId": format!("{:016x}", 0x7b02u64),
            "attributes": [attr("app.note", LONG_VALUE), attr("tenant.id", LONG_TENANT)],
        })).collect::<Vec<_>>()}],
    }]})
    .to_string();
    let point = serde_json::json!({
        "timeUnixNano": t,
        "attributes": [attr("gen_ai.request.model", LONG_MODEL), attr("app.note", LONG_VALUE)],
    });
    let mut gauge = point.clone();
    gauge["asDouble"] = serde_json::json!(1_234_567.0);
    let mut hist = point;
    hist["count"] = serde_json::json!("1234567");
    hist["sum"] = serde_json::json!(987_654_321.0);
    hist["explicitBounds"] = serde_json::json!([1.0, 100.0, 10_000.0]);
    hist["bucketCounts"] = serde_json::json!(["1", "2", "1234560", "4"]);
    let metrics = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [attr("service.name", LONG_SERVICE)]},
        "scopeMetrics": [{"scope": {"name": "test"}, "metrics": [
            {"name": LONG_METRIC, "unit": "{request}", "gauge": {"dataPoints": [gauge]}},
            {"name": "gen_ai.client.token.usage", "unit": "{token}",
             "histogram": {"aggregationTemporality": 1, "dataPoints": [hist]}},
        ]}],
    }]})
    .to_string();
    (logs, metrics)
}

/// The demo's traffic with the long-named traces, the long session, its logs and metrics.
fn populated_long() -> Arc<Pipeline> {
    use llmwatch::ingest::{WhenFull, export_logs_with, export_metrics, export_traces_with, otlp_json};
    let p = populated();
    let t0 = START / 1_000_000_000 + 150;
    for text in [long_named(t0, 30), long_session(t0 + 10)] {
        let req = otlp_json::owned_traces(text.as_bytes()).unwrap();
        export_traces_with(&p, req, WhenFull::Wait).unwrap();
    }
    let (logs, metrics) = long_logs_and_metrics(t0 + 10);
    export_logs_with(
        &p,
        otlp_json::owned_logs(logs.as_bytes()).unwrap(),
        WhenFull::Wait,
    )
    .unwrap();
    let metrics: opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest =
        serde_json::from_str(&metrics).unwrap();
    export_metrics(&p, &metrics).unwrap();
    p.flush();
    p
}

/// Everything [`nothing_is_cut_without_a_mark_at_any_width`] asks of a screen, and more: pane
/// titles that run into their corner end in `…`, and no figure is cut (`12…`, `$0.0…`). What
/// is wrong is added to `faults`, one line each, so that a run lists every fault at once.
fn marked_screen_faults(s: &str, names: &[&str], what: &str, faults: &mut Vec<String>) {
    let lines: Vec<&str> = s.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let mut fault = |why: String| faults.push(format!("{why} in {line}  [{what}]"));
        if let Some(cut) = name_cut_unmarked(line, lines.get(i + 1).copied(), names) {
            fault(format!("a name cut without …: {cut:?}"));
        }
        if let Some(amount) = amount_cut(line) {
            fault(format!("an amount cut: ${amount}"));
        }
        if title_cut_unmarked(line) {
            fault("a title cut without …".into());
        }
        if let Some(w) = figure_cut(line) {
            fault(format!("a figure cut: {w:?}"));
        }
    }
}

/// Fails listing `faults` (each once, the screens that show them after), if there are any.
fn assert_no_faults(faults: Vec<String>, screens: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<&String> = faults
        .iter()
        .filter(|f| seen.insert(f.split("  [").next()))
        .collect();
    assert!(
        unique.is_empty(),
        "{} faults:\n{}\n\n{}",
        unique.len(),
        unique
            .iter()
            .take(60)
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        screens.join("\n")
    );
}

/// Where a name of `names` shows on `line` cut without `…` right after it: what is shown of
/// it. Names are found by their first six characters. A name broken at a pane's right edge is
/// a wrap, not a cut, when the next line carries on with the rest of it (or is the pane's
/// bottom border: the rest shows once the pane is scrolled).
fn name_cut_unmarked(line: &str, next: Option<&str>, names: &[&str]) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | ':' | '@');
    for start in 0..chars.len() {
        if start > 0 && word(chars[start - 1]) {
            continue;
        }
        let rest = &chars[start..];
        let mut best: Option<(usize, &str)> = None;
        let mut whole = false;
        for name in names {
            let n: Vec<char> = name.chars().collect();
            if rest.len() < 6 || n.len() < 6 || rest[..6] != n[..6] {
                continue;
            }
            let k = rest.iter().zip(&n).take_while(|(a, b)| a == b).count();
            if k == n.len() && rest.get(k).is_none_or(|c| !word(*c)) {
                whole = true;
                break;
            }
            if best.is_none_or(|(b, _)| k > b) {
                best = Some((k, name));
            }
        }
        let Some((k, name)) = best.filter(|_| !whole) else {
            continue;
        };
        if rest.get(k) == Some(&'…') {
            continue;
        }
        let remainder: String = name.chars().skip(k).collect();
        let remainder: String = remainder.trim_start().chars().take(6).collect();
        let below = next.and_then(|n| n.chars().nth(start));
        let wraps = matches!(rest.get(k), None | Some('│' | '┃'))
            && (next.is_some_and(|n| n.contains(&remainder)) || matches!(below, Some('─' | '━')));
        if !wraps {
            return Some(rest.iter().take(k + 1).collect());
        }
    }
    None
}

/// Whether a title reaches its pane's top-right (or bottom-right) corner without ending in
/// `…` or a space (a title that fits exactly keeps its closing space).
fn title_cut_unmarked(line: &str) -> bool {
    let chars: Vec<char> = line.chars().collect();
    (1..chars.len()).any(|i| {
        matches!(chars[i], '╮' | '┐' | '┓' | '╯' | '┘' | '┛')
            && !matches!(
                chars[i - 1],
                '─' | '━' | '…' | ' ' | '╭' | '┌' | '┏' | '╰' | '└' | '┗'
            )
    })
}

/// A figure that ends in the mark: a word that starts like a number (`12`, `$0.01`, `<$0`,
/// `1.2k→`) is never the one cut.
fn figure_cut(line: &str) -> Option<&str> {
    line.split(|c: char| c.is_whitespace() || "│┃─━(),·".contains(c))
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit() || c == '$' || c == '<') && w.contains('…'))
}

/// The drill-down of the long session's first turn: span names, the model, attribute values
/// and the session id wider than the tree and the detail at every width, each span selected
/// in turn, the detail scrolled through.
#[test]
fn the_drill_down_cuts_only_with_a_mark_at_any_width() {
    let p = populated_long();
    let names = long_names();
    let mut a = app(&p, "dark");
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, &format!("trace:{:032x}", 0x7b7b_0000u64));
    press(&mut a, KeyCode::Enter);
    assert!(a.drill.is_some(), "trace: opens the long turn");
    let (mut faults, mut screens) = (Vec::new(), Vec::new());
    for w in [80, 100, 120, 160] {
        for h in [24, 48] {
            for row in 0..3 {
                let what = format!("drill-down {w}x{h} span {row}");
                let s = screen(&mut a, w, h);
                assert!(s.contains('…'), "{what}: names are cut\n{s}");
                // The detail scrolled through (Tab moves the keys to it), then the next span.
                press(&mut a, KeyCode::Tab);
                for page in 0..8 {
                    let s = screen(&mut a, w, h);
                    let before = faults.len();
                    marked_screen_faults(&s, &names, &format!("{what} page {page}"), &mut faults);
                    if faults.len() > before && screens.len() < 3 {
                        screens.push(s);
                    }
                    press(&mut a, KeyCode::PageDown);
                }
                press(&mut a, KeyCode::Tab);
                press(&mut a, KeyCode::Down);
            }
            for _ in 0..3 {
                press(&mut a, KeyCode::Up);
            }
        }
    }
    assert_no_faults(faults, &screens);
}

/// The views with the long session, its logs and metrics: the sessions list, the
/// conversation, the comparison of its two turns, logs, metrics and the review queue.
#[test]
fn the_views_cut_only_with_a_mark_at_any_width() {
    let p = populated_long();
    let names = long_names();
    let mut a = app(&p, "dark");
    let (mut faults, mut screens) = (Vec::new(), Vec::new());
    let mut check = |a: &mut App, what: &str| {
        for w in [80, 100, 120, 160] {
            for h in [24, 48] {
                let s = screen(a, w, h);
                let before = faults.len();
                marked_screen_faults(&s, &names, &format!("{what} {w}x{h}"), &mut faults);
                if faults.len() > before && screens.len() < 6 {
                    screens.push(s);
                }
            }
        }
    };
    check(&mut a, "overview");
    press(&mut a, KeyCode::Char('R'));
    check(&mut a, "review queue");
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('3'));
    check(&mut a, "logs");
    press(&mut a, KeyCode::Char('4'));
    check(&mut a, "metrics");
    press(&mut a, KeyCode::Char('2'));
    // Dearest first: the long session's 1.2M-token calls put it on top.
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::Char('s'));
    check(&mut a, "sessions");
    let s = screen(&mut a, 160, 48);
    assert!(s.contains("zz-session"), "the long session is listed\n{s}");
    press(&mut a, KeyCode::Enter);
    check(&mut a, "conversation");
    press(&mut a, KeyCode::Char('='));
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Char('='));
    assert!(a.comparing().is_some(), "the two turns compare");
    check(&mut a, "compare");
    assert_no_faults(faults, &screens);
}
