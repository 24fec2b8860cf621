//! `--baseline` on the screen: captures generated here are read into the app's store (the
//! traffic now) and, once, into a baseline index of their own; the latency pane's Δp99 then
//! compares each cohort against its value over the whole baseline (`b` toggles back to the
//! window before), cohorts the baseline lacks say `new`, and the status bar says
//! `baseline: FILE`. TestBackend + insta snapshots at 80x24 and 160x48.

mod common;

use common::drift::{Drift, START_SECS, write_capture};
use llmwatch::config::split_budget;
use llmwatch::cost::CostTable;
use llmwatch::ingest::handoff::Pipeline;
use llmwatch::report::{self, ReportOptions};
use llmwatch::semconv::SemconvConfig;
use llmwatch::ui::app::{App, Feed};
use llmwatch::ui::baseline::BaselineRows;
use llmwatch::ui::panes::render_status;
use llmwatch::ui::theme::{ColorDepth, Theme};
use llmwatch::ui::view::{Source, StatusView, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn options(files: Vec<PathBuf>) -> ReportOptions {
    let (store, handoff) = split_budget(200_000, 512 << 20);
    ReportOptions {
        files,
        spans: false,
        speed: llmwatch::replay::Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        semconv: Arc::new(SemconvConfig::default()),
        costs: Arc::new(CostTable::bundled()),
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    }
}

/// The app with `now` read into its store and `baseline` loaded as the screen's baseline.
fn app(now: &Path, baseline: &[PathBuf]) -> App {
    let opts = options(vec![now.to_path_buf()]);
    let pipeline: Arc<Pipeline> = report::start_pipeline(&opts);
    report::feed_files(&opts, &pipeline, None).unwrap();
    pipeline.flush();
    let theme = Theme::load(None).unwrap().for_depth(ColorDepth::TrueColor);
    let mut app = App::new(
        pipeline,
        Feed::Live {
            listen: vec!["grpc 127.0.0.1:4317".into()],
        },
        theme,
    );
    app.set_baseline(BaselineRows::load(&options(baseline.to_vec())).unwrap());
    app.sync();
    app
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    t.backend().to_string()
}

fn press(app: &mut App, c: char) {
    app.handle(&Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
}

/// One trace per route every 5 s for `minutes`: a root span with `app.route` and one model
/// call lasting exactly the route's milliseconds, judged by `relevance`: trace `k` fails when
/// `k % every == 0` (the route's third figure).
fn fixed_capture(path: &Path, minutes: u64, routes: &[(&str, u64, u64)]) {
    let mut out = String::new();
    for k in 0..minutes * 12 {
        for (r, (route, ms, every)) in routes.iter().enumerate() {
            let trace = format!("{:016x}{:016x}", 0xf1_u64 + r as u64, k + 1);
            let t0 = (START_SECS + k * 5) * 1_000_000_000 + r as u64 * 1_000_000;
            let attr = |key: &str, v: Value| json!({"key": key, "value": v});
            let span = |id: u64, parent: Option<u64>, name: &str, start: u64, ms: u64, attrs: Vec<Value>| {
                let mut s = json!({
                    "traceId": trace,
                    "spanId": format!("{id:016x}"),
                    "name": name,
                    "kind": 1,
                    "startTimeUnixNano": start.to_string(),
                    "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
                    "attributes": attrs,
                    "status": {},
                });
                if let Some(p) = parent {
                    s["parentSpanId"] = json!(format!("{p:016x}"));
                }
                s
            };
            let fail = k % every == 0;
            let mut spans = vec![
                span(
                    1,
                    None,
                    "handle_request",
                    t0,
                    ms + 10,
                    vec![attr("app.route", json!({"stringValue": route}))],
                ),
                span(
                    2,
                    Some(1),
                    "chat gpt-4o-mini",
                    t0 + 5_000_000,
                    *ms,
                    vec![
                        attr("gen_ai.operation.name", json!({"stringValue": "chat"})),
                        attr("gen_ai.provider.name", json!({"stringValue": "openai"})),
                        attr("gen_ai.request.model", json!({"stringValue": "gpt-4o-mini"})),
                        attr("gen_ai.usage.input_tokens", json!({"intValue": "400"})),
                        attr("gen_ai.usage.output_tokens", json!({"intValue": "80"})),
                    ],
                ),
            ];
            spans[1]["events"] = json!([{
                "timeUnixNano": (t0 + 5_000_000 + ms * 1_000_000).to_string(),
                "name": "gen_ai.evaluation.result",
                "attributes": [
                    attr("gen_ai.evaluation.name", json!({"stringValue": "relevance"})),
                    attr("gen_ai.evaluation.score.value", json!({"doubleValue": if fail { 0.0 } else { 1.0 }})),
                    attr("gen_ai.evaluation.score.label", json!({"stringValue": if fail { "fail" } else { "pass" }})),
                ],
            }]);
            let line = json!({"resourceSpans": [{
                "resource": {"attributes": [attr("service.name", json!({"stringValue": "claims-agent"}))]},
                "scopeSpans": [{"spans": spans}],
            }]});
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

/// The line of the screen naming `cohort`.
fn line_of<'a>(screen: &'a str, cohort: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(cohort))
        .unwrap_or_else(|| panic!("no {cohort} in\n{screen}"))
}

#[test]
fn delta_p99_against_the_baseline_is_the_cohorts_own_change() {
    let dir = tempfile::tempdir().unwrap();
    let (base, now) = (dir.path().join("base.jsonl"), dir.path().join("now.jsonl"));
    // Baseline: /claims 1000 ms, /search 800 ms. Now: /claims 1500 ms (p99 +50%), /search the
    // same, and /refunds the baseline never had. Every call of a cohort lasts the same, so
    // each p99 is that duration's histogram bucket: 1500/1000 - 1 = +50%.
    // Relevance fails 1 in 10 of /claims over the whole baseline (12 of 120: 10%), 1 in 4 now.
    fixed_capture(&base, 10, &[("/claims", 1000, 10), ("/search", 800, 5)]);
    fixed_capture(
        &now,
        10,
        &[("/claims", 1500, 4), ("/search", 800, 5), ("/refunds", 300, 5)],
    );
    let mut app = app(&now, std::slice::from_ref(&base));
    app.ui.latency_dim = 1;
    let budget = llmwatch::ui::panes::layout(ratatui::layout::Rect::new(0, 0, 160, 48), &app.ui).budget();
    let view = app.view(budget);
    assert_eq!(view.latency.vs.as_deref(), Some("baseline"));
    let row = |name: &str| {
        view.latency
            .rows
            .iter()
            .find(|r| &*r.cohort == name)
            .unwrap()
            .clone()
    };
    let (claims, search, refunds) = (row("/claims"), row("/search"), row("/refunds"));
    let p99 = |r: &llmwatch::ui::view::LatencyRow| r.latency.unwrap()[2];
    // The baseline's p99 of /claims is the bucket of 1000 ms, within the histogram's error.
    let base99 = claims.prev_p99.unwrap();
    assert!((base99 as f64 / 1_000_000.0 - 1.0).abs() < 0.02, "{base99}");
    assert!(
        (p99(&claims) as f64 / 1_500_000.0 - 1.0).abs() < 0.02,
        "{}",
        p99(&claims)
    );
    // The window holds fewer than 100 calls of /search and reads their exact p99; the
    // baseline holds more and reads its histogram bucket: equal within the bucket's width.
    let (now, then) = (p99(&search) as f64, search.prev_p99.unwrap() as f64);
    assert!((then / now - 1.0).abs() < 0.0625, "{then} {now}");
    assert_eq!(refunds.prev_p99, None);
    // The cost pane: each outlier's cohort median over the baseline; /refunds has none. Every
    // trace of a route costs the same here, so under the cost-outlier rule (3x the median and
    // a cent over it) nothing is an outlier: the pane lists none (it used to list them at 1x).
    let base = view.outliers.base.as_ref().unwrap();
    assert!(view.outliers.rows.is_empty(), "{:#?}", view.outliers.rows);
    for (o, b) in view.outliers.rows.iter().zip(base) {
        match &*o.cohort {
            "/refunds" => assert_eq!(*b, None),
            _ => {
                let (b, cost) = (b.unwrap(), o.row.cost_usd.unwrap());
                // Within the cost histogram bucket's width.
                assert!((b / cost - 1.0).abs() < 0.05, "{b} {cost}");
            }
        }
    }
    // The evals pane: /claims' Δfail is its fail rate now minus 12/120 over the baseline.
    assert_eq!(view.evals.vs.as_deref(), Some("baseline"));
    let claims_eval = view
        .evals
        .rows
        .iter()
        .find(|r| r.cohort.as_deref() == Some("/claims"))
        .unwrap_or_else(|| panic!("{:#?}", view.evals.rows));
    assert_eq!(claims_eval.prev.fail_rate(), Some(0.1));
    let now_rate = claims_eval.stats.fail_rate().unwrap();
    assert!((now_rate - 0.25).abs() < 0.02, "{now_rate}");
    let pp = ((now_rate - 0.1) * 100.0).round();
    let refunds_eval = view
        .evals
        .rows
        .iter()
        .find(|r| r.cohort.as_deref() == Some("/refunds"));
    assert_eq!(refunds_eval.map(|r| r.prev.fail_rate()), Some(None));
    let text = screen(&mut app, 160, 48);
    let evals_line = |text: &str, cohort: &str| {
        text.lines()
            .find(|l| l.contains(&format!("relevance {cohort} ")))
            .map(|l| l.to_string())
            .unwrap_or_else(|| panic!("no relevance {cohort} in\n{text}"))
    };
    assert!(
        evals_line(&text, "/claims").contains(&format!("▲{pp:.0}pp")),
        "{text}"
    );
    // Not in the baseline: no Δ (fewer than 20 samples on that side) rather than "new".
    assert!(evals_line(&text, "/refunds").contains(" · "), "{text}");
    let pct = ((p99(&claims) as f64 / base99 as f64 - 1.0) * 100.0).round();
    assert!((pct - 50.0).abs() <= 2.0, "{pct}");
    assert!(
        line_of(&text, "/claims").contains(&format!("▲{pct:.0}%")),
        "{text}"
    );
    assert!(line_of(&text, "/search").contains(" = "), "{text}");
    assert!(line_of(&text, "/refunds").contains(" · "), "{text}");
    assert!(text.contains("Δ vs baseline"), "{text}");
    assert!(text.contains("baseline: …/base.jsonl"), "{text}");
    // `b`: against the window before, where /claims and /search did not change.
    press(&mut app, 'b');
    let text = screen(&mut app, 160, 48);
    assert!(text.contains("Δ vs prev 5m"), "{text}");
    assert!(line_of(&text, "/claims").contains(" = "), "{text}");
    press(&mut app, 'b');
    assert!(screen(&mut app, 160, 48).contains("Δ vs baseline"));
}

#[test]
fn dashboard_with_a_baseline_toggled_on_and_off() {
    let dir = tempfile::tempdir().unwrap();
    let (base, now) = (dir.path().join("base.jsonl"), dir.path().join("now.jsonl"));
    write_capture(&base, 10, Drift::default());
    write_capture(
        &now,
        10,
        Drift {
            new_route: Some("/refunds"),
            ..Drift::default()
        },
    );
    let mut app = app(&now, std::slice::from_ref(&base));
    app.ui.latency_dim = 1;
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("baseline_on_{w}x{h}"), screen(&mut app, w, h));
    }
    press(&mut app, 'b');
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("baseline_off_{w}x{h}"), screen(&mut app, w, h));
    }
    press(&mut app, '?');
    let help = screen(&mut app, 160, 48);
    assert!(help.contains("against the baseline"), "{help}");
}

fn bar(view: &View, width: u16) -> String {
    let theme = Theme::load(None).unwrap();
    let mut t = Terminal::new(TestBackend::new(width, 1)).unwrap();
    t.draw(|f| render_status(f, f.area(), view, &theme)).unwrap();
    let buf = t.backend().buffer();
    (0..width).map(|x| buf[(x, 0)].symbol().to_string()).collect()
}

#[test]
fn status_bar_says_which_baseline() {
    let view = |baseline: Vec<String>| View {
        status: StatusView {
            source: Some(Source::Live {
                listen: vec!["grpc 127.0.0.1:4317".into(), "http 127.0.0.1:4318".into()],
            }),
            spans_per_sec: 1234.0,
            traces_per_sec: 56.7,
            spans_held: 187_654,
            max_spans: 200_000,
            clock: Some(1_800_000_000),
            baseline,
            ..StatusView::default()
        },
        ..View::default()
    };
    let one = view(vec![
        "/srv/captures/2026-11-25/known-good-traffic.jsonl.gz".into(),
    ]);
    let three = view(vec!["a.jsonl".into(), "b.jsonl".into(), "c.jsonl".into()]);
    let mut out = String::new();
    for v in [&one, &three] {
        for w in [80, 160] {
            out.push_str(&format!("{w:>3} |{}|\n", bar(v, w)));
        }
    }
    insta::assert_snapshot!("status_bar_baseline", out);
    assert!(bar(&one, 160).contains("baseline: …/known-good-traffic.jsonl.gz"));
    assert!(bar(&three, 160).contains("baseline: 3 files"));
}
