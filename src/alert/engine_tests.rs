//! The engine on synthetic traffic: firing and resolving in event time, cohorts and filters,
//! min_samples, combined rules, late roots, eviction, drops, and example traces.

use super::engine::{Engine, EngineOptions};
use super::rules::RuleSet;
use crate::model::{SpanRecord, StatusCode, TraceId};
use crate::semconv::{Kind, Semantics, Verdict, VerdictSource};
use crate::store::follow::Watch;
use crate::store::test_support::span;
use crate::store::{StoreLimits, TraceStore};
use std::sync::Arc;

const T0: u64 = 1_800_000_000;

fn id(n: u32) -> TraceId {
    let mut t = TraceId([7; 16]);
    t.0[..4].copy_from_slice(&n.to_be_bytes());
    t
}

/// A span of trace `n` from second `start` lasting `ms`.
fn at(n: u32, sid: u8, parent: Option<u8>, start: u64, ms: u64) -> SpanRecord {
    let mut s = span(0, sid, parent, start);
    s.trace_id = id(n);
    s.end_unix_nano = s.start_unix_nano + ms * 1_000_000;
    s
}

fn root(n: u32, start: u64, route: &str, tenant: &str) -> SpanRecord {
    let mut s = at(n, 1, None, start, 10);
    s.sem = Some(Box::new(Semantics {
        route: Some(Arc::from(route)),
        tenant: Some(Arc::from(tenant)),
        ..Semantics::default()
    }));
    s
}

fn call(n: u32, start: u64, ms: u64, model: &str, cost: f64) -> SpanRecord {
    let mut s = at(n, 2, Some(1), start, ms);
    s.sem = Some(Box::new(Semantics {
        kind: Kind::Llm,
        request_model: Some(Arc::from(model)),
        cost_usd: Some(cost),
        ..Semantics::default()
    }));
    s
}

fn retrieval(n: u32, start: u64, ms: u64) -> SpanRecord {
    let mut s = at(n, 3, Some(1), start, ms);
    s.sem = Some(Box::new(Semantics {
        kind: Kind::Retrieval,
        ..Semantics::default()
    }));
    s
}

fn verdict(n: u32, name: &str, score: f64, passed: bool) -> Verdict {
    Verdict {
        trace_id: Some(id(n)),
        target: Some(crate::model::SpanId([2; 8])),
        response_id: None,
        name: Arc::from(name),
        score: Some(score),
        label: None,
        explanation: None,
        passed: Some(passed),
        source: VerdictSource::LogRecord,
        time_unix_nano: 0,
        reviewer: None,
    }
}

/// (rule name, cohort, firing, first fired, resolved at), relative to T0.
type State = (String, Option<String>, bool, u64, Option<u64>);

struct Rig {
    store: TraceStore,
    watch: Watch,
    engine: Engine,
}

impl Rig {
    fn new(rules: &str) -> Self {
        Self::with_store(rules, 100_000)
    }

    fn with_store(rules: &str, max_spans: usize) -> Self {
        let set = RuleSet::parse(rules).unwrap();
        let mut rig = Self {
            store: TraceStore::new(StoreLimits {
                max_spans,
                max_bytes: 256 << 20,
                keep_share: 0.5,
                cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
            }),
            watch: Watch::default(),
            engine: Engine::new(
                set,
                EngineOptions {
                    settle_secs: 0,
                    exec: false,
                    wall_clock: false,
                },
            ),
        };
        rig.sync();
        rig
    }

    fn sync(&mut self) {
        while self.watch.sync(&mut self.store, &mut self.engine) && self.watch.rebuilding() {}
        self.engine.advance();
    }

    fn put(&mut self, spans: Vec<SpanRecord>) {
        self.store.insert_spans(spans);
        self.sync();
    }

    /// (rule name, cohort, firing, first fired, resolved at), relative to T0.
    fn states(&self) -> Vec<State> {
        self.engine
            .alerts()
            .into_iter()
            .map(|a| {
                (
                    self.engine.rules()[a.rule].name.clone(),
                    a.cohort.clone(),
                    a.firing,
                    a.first_fired - T0,
                    a.resolved_at.map(|r| r - T0),
                )
            })
            .collect()
    }
}

const SLOW_MODEL: &str = r#"
[[rule]]
name = "slow-model"
metric = "latency_p99_ms"
group_by = "model"
window = "60s"
op = ">"
threshold = 1000
min_samples = 5
"#;

/// One trace a second per model for `secs` seconds; model "b" is slow in `slow`.
fn steady(rig: &mut Rig, secs: std::ops::Range<u64>, slow: std::ops::Range<u64>) {
    for s in secs {
        for (k, model) in ["a", "b"].into_iter().enumerate() {
            let n = (s * 2 + k as u64) as u32;
            let ms = if model == "b" && slow.contains(&s) {
                2500
            } else {
                100
            };
            rig.put(vec![call(n, s, ms, model, 0.01), root(n, s, "/chat", "acme")]);
        }
    }
}

#[test]
fn a_rule_fires_for_the_slow_cohort_only_and_resolves_when_it_recovers() {
    let mut rig = Rig::new(SLOW_MODEL);
    steady(&mut rig, 0..400, 120..180);
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    let (name, cohort, firing, first, resolved) = &states[0];
    assert_eq!(
        (name.as_str(), cohort.as_deref(), *firing),
        ("slow-model", Some("b"), false)
    );
    // p99 over 60 s crosses once about one slow call in a hundred is in; every window
    // holding a slow call stays above until the last slow call leaves the window.
    assert!((121..=125).contains(first), "first fired at +{first}");
    let resolved = resolved.unwrap();
    assert!((239..=243).contains(&resolved), "resolved at +{resolved}");
    let alert = rig.engine.alerts()[0].clone();
    assert!(alert.first_readings[0].value.unwrap() > 1000.0);
    assert_eq!(alert.episodes, 1);
    // The examples are slow calls of model b (odd trace numbers) from the slow period.
    assert!(!alert.examples.is_empty());
    for t in &alert.examples {
        let n = u32::from_be_bytes(t.0[..4].try_into().unwrap());
        assert_eq!(n % 2, 1, "model b's trace");
        assert!((240..360).contains(&n), "from the slow minute: {n}");
    }
}

#[test]
fn min_samples_keeps_a_thin_window_quiet() {
    let mut rig = Rig::new(&SLOW_MODEL.replace("min_samples = 5", "min_samples = 200"));
    steady(&mut rig, 0..300, 120..180);
    rig.engine.finish();
    assert_eq!(rig.states(), vec![], "60 calls a window never reach 200");
}

#[test]
fn where_filters_and_rules_without_group_by() {
    let rules = r#"
[[rule]]
name = "cost"
metric = "cost_per_trace_usd"
where = { route = "/refund" }
window = "1m"
op = ">"
threshold = 0.05
"#;
    let mut rig = Rig::new(rules);
    for s in 0..200u64 {
        // /chat is always expensive, /refund only from 100 s on.
        let refund_cost = if s >= 100 { 0.2 } else { 0.01 };
        let n = (s * 2) as u32;
        rig.put(vec![call(n, s, 50, "a", 0.5), root(n, s, "/chat", "acme")]);
        rig.put(vec![
            call(n + 1, s, 50, "a", refund_cost),
            root(n + 1, s, "/refund", "acme"),
        ]);
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].1, None, "no group_by: no cohort");
    assert!(states[0].2, "still firing at the end");
    // The mean crosses 0.05 once a quarter of the window's refunds cost 0.2.
    assert!((108..=118).contains(&states[0].3), "{states:?}");
}

#[test]
fn a_combined_rule_needs_every_condition_for_the_same_cohort() {
    let rules = r#"
[[rule]]
name = "ungrounded-and-slow-retrieval"
group_by = "route"
window = "1m"
[[rule.all]]
metric = "eval_fail_rate"
evaluator = "groundedness"
op = ">"
threshold = 0.5
[[rule.all]]
metric = "latency_p99_ms"
span_kind = "retrieval"
op = ">"
threshold = 800
"#;
    let mut rig = Rig::new(rules);
    // /a: ungrounded and slow retrieval; /b: ungrounded, fast retrieval; /c: slow, grounded.
    for s in 0..120u64 {
        for (k, (route, fails, slow)) in [("/a", true, true), ("/b", true, false), ("/c", false, true)]
            .into_iter()
            .enumerate()
        {
            let n = (s * 3 + k as u64) as u32;
            let ms = if slow { 1500 } else { 100 };
            rig.store.insert_spans(vec![
                root(n, s, route, "t"),
                retrieval(n, s, ms),
                call(n, s, 200, "m", 0.01),
            ]);
            rig.store.insert_verdicts(vec![verdict(
                n,
                "Groundedness",
                if fails { 0.2 } else { 0.9 },
                !fails,
            )]);
            rig.sync();
        }
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].1.as_deref(), Some("/a"));
    let line = super::check_line(&rig.engine.rules()[0], rig.engine.alerts()[0]);
    assert!(
        line.starts_with("ungrounded-and-slow-retrieval route=/a eval_fail_rate=1 > 0.5 and latency_p99_ms="),
        "{line}"
    );
}

#[test]
fn a_root_arriving_last_moves_the_calls_into_its_route() {
    let rules = r#"
[[rule]]
name = "errors"
metric = "error_rate"
span_kind = "llm"
group_by = "route"
window = "30s"
op = ">="
threshold = 0.5
"#;
    let mut rig = Rig::new(rules);
    for s in 0..60u64 {
        let n = s as u32;
        let mut c = call(n, s, 100, "m", 0.01);
        c.status = StatusCode::Error;
        // The failing call arrives alone, then its root names the route.
        rig.put(vec![c]);
        rig.put(vec![root(n, s, "/pay", "t")]);
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(
        states[0].1.as_deref(),
        Some("/pay"),
        "not (none): the sample moved"
    );
}

#[test]
fn evicted_traces_still_count_in_their_window() {
    let rules = r#"
[[rule]]
name = "volume"
metric = "spans_per_s"
window = "10s"
op = ">="
threshold = 3
"#;
    // The store holds 20 spans; 3 spans a second for 30 s passes through it.
    let mut rig = Rig::with_store(rules, 20);
    for s in 0..30u64 {
        for k in 0..3u64 {
            let n = (s * 3 + k) as u32;
            rig.put(vec![at(n, 1, None, s, 10)]);
        }
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert!(
        states[0].2,
        "3 spans/s held to the end although most were evicted"
    );
}

#[test]
fn dropped_counts_what_ingest_refused() {
    let rules = r#"
[[rule]]
name = "drops"
metric = "dropped"
window = "1m"
op = ">"
threshold = 0
"#;
    let mut rig = Rig::new(rules);
    // The rules' clock starts with the third trace.
    for n in 1..=3 {
        rig.put(vec![at(n, 1, None, 0, 10)]);
    }
    rig.engine.observe_dropped(0);
    rig.put(vec![at(4, 1, None, 5, 10)]);
    rig.engine.observe_dropped(7);
    rig.put(vec![at(5, 1, None, 10, 10)]);
    rig.engine.finish();
    let a = rig.engine.alerts();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].first_readings[0].value, Some(7.0));
}

#[test]
fn events_come_out_once_in_order() {
    let mut rig = Rig::new(SLOW_MODEL);
    steady(&mut rig, 0..300, 120..180);
    rig.engine.finish();
    let events = rig.engine.take_events();
    assert_eq!(
        events.iter().map(|e| e.firing).collect::<Vec<_>>(),
        vec![true, false]
    );
    assert!(events[0].at < events[1].at);
    assert!(rig.engine.take_events().is_empty());
}

#[test]
fn coverage_counts_calls_missing_a_prompt_version_or_route() {
    let rules = r#"
[[rule]]
name = "coverage"
metric = "coverage"
window = "1m"
op = "<"
threshold = 0.9
min_samples = 10
"#;
    let mut rig = Rig::new(rules);
    for s in 0..120u64 {
        let n = s as u32;
        let mut r = root(n, s, "/chat", "acme");
        // From 60 s on, half of the calls lose their prompt version.
        if s < 60 || s % 2 == 0 {
            r.sem.as_mut().unwrap().prompt_version = Some(Arc::from("v3"));
        }
        rig.put(vec![r, call(n, s, 100, "m", 0.01)]);
    }
    rig.engine.finish();
    let a = rig.engine.alerts();
    assert_eq!(a.len(), 1, "{:?}", rig.states());
    let first = a[0].first_fired - T0;
    // The share drops under 0.9 once a fifth of the minute's calls miss it.
    assert!((65..=75).contains(&first), "fired at +{first}");
    assert!(a[0].firing);
    assert!(a[0].readings[0].value.unwrap() < 0.6);
}

#[test]
fn exec_gets_the_alert_as_json_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alert.json");
    let rules = format!(
        "{}exec = \"cat > {}\"\nowner = \"platform\"\n",
        SLOW_MODEL,
        out.display()
    );
    let set = RuleSet::parse(&rules).unwrap();
    let mut rig = Rig::new(SLOW_MODEL);
    rig.engine = Engine::new(
        set,
        EngineOptions {
            settle_secs: 0,
            exec: true,
            wall_clock: false,
        },
    );
    rig.watch = Watch::default();
    steady(&mut rig, 0..200, 120..180);
    let ex = rig
        .engine
        .executor()
        .expect("rules with exec get an executor")
        .clone();
    assert!(ex.wait(std::time::Duration::from_secs(5)));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["rule"], "slow-model");
    assert_eq!(v["state"], "firing");
    assert_eq!(v["group_by"], "model");
    assert_eq!(v["cohort"], "b");
    assert_eq!(v["owner"], "platform");
    assert!(v["value"].as_f64().unwrap() > 1000.0);
    assert!(
        v["line"]
            .as_str()
            .unwrap()
            .starts_with("slow-model model=b value=")
    );
    // At the first firing one slow call is in the window: the one example past the threshold.
    assert_eq!(v["example_trace_ids"].as_array().unwrap().len(), 1);
    assert_eq!(ex.counters.started.load(std::sync::atomic::Ordering::Relaxed), 1);
}

fn rig_with(rules: &str, settle_secs: u64) -> Rig {
    let mut rig = Rig::new(rules);
    rig.engine = Engine::new(
        RuleSet::parse(rules).unwrap(),
        EngineOptions {
            settle_secs,
            exec: false,
            wall_clock: false,
        },
    );
    rig.watch = Watch::default();
    rig.sync();
    rig
}

const ERRORS: &str = r#"
[[rule]]
name = "errors"
metric = "error_rate"
span_kind = "llm"
window = "1m"
op = ">"
threshold = 0.5
"#;

fn failing(n: u32, s: u64) -> SpanRecord {
    let mut c = call(n, s, 100, "m", 0.01);
    c.status = StatusCode::Error;
    c
}

#[test]
fn samples_within_the_settle_time_count_whatever_order_and_batches_they_come_in() {
    for batches in [false, true] {
        let mut rig = rig_with(ERRORS, 600);
        let put = |rig: &mut Rig, spans: Vec<SpanRecord>| {
            rig.store.insert_spans(spans);
            if batches {
                rig.sync();
            }
        };
        for s in 0..10u32 {
            put(&mut rig, vec![call(s, u64::from(s), 100, "m", 0.01)]);
        }
        // Later traffic first, then a burst of errors from 300 s earlier (inside the settle).
        put(&mut rig, vec![call(100, 1000, 100, "m", 0.01)]);
        for s in 0..30u32 {
            put(&mut rig, vec![failing(200 + s, 700 + u64::from(s))]);
        }
        rig.sync();
        rig.engine.finish();
        let states = rig.states();
        assert_eq!(states.len(), 1, "batches={batches}: {states:?}");
        assert!((701..=730).contains(&states[0].3), "{states:?}");
        assert_eq!(rig.engine.late_samples(), 0);
    }
}

#[test]
fn a_span_from_a_broken_clock_does_not_move_the_rules_clock() {
    let mut rig = rig_with(ERRORS, 5);
    // One span dated a day ahead arrives first, then an error burst at the real time.
    rig.put(vec![call(1, 86_400, 100, "m", 0.01)]);
    for s in 0..120u32 {
        let t = u64::from(s);
        let span = if (30..90).contains(&s) {
            failing(10 + s, t)
        } else {
            call(10 + s, t, 100, "m", 0.01)
        };
        rig.put(vec![span]);
    }
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    // Over half of the minute's calls fail from 61 s on; judged as it happens, not at the end.
    assert!((61..=63).contains(&states[0].3), "{states:?}");
    assert!(states[0].2, "firing now");
}

#[test]
fn quantile_decisions_are_exact_at_the_threshold() {
    let rules = |op: &str| {
        format!(
            "[[rule]]\nname='p50'\nmetric='latency_p50_ms'\nwindow='1m'\nop='{op}'\nthreshold=2000\nmin_samples=10\n"
        )
    };
    for (op, fires) in [(">", true), ("<", false)] {
        let mut rig = rig_with(&rules(op), 0);
        for s in 0..120u32 {
            rig.put(vec![call(s, u64::from(s), 2031, "m", 0.01)]);
        }
        rig.engine.finish();
        assert_eq!(!rig.states().is_empty(), fires, "p50 of 2031 ms {op} 2000");
    }
}

#[test]
fn a_cohort_that_goes_quiet_fires_a_traffic_drop_rule() {
    let rules = r#"
[[rule]]
name = "traffic-drop"
metric = "spans_per_s"
group_by = "model"
window = "30s"
op = "<"
threshold = 0.5
"#;
    let mut rig = rig_with(rules, 0);
    for s in 0..200u64 {
        let n = (s * 2) as u32;
        rig.put(vec![call(n, s, 100, "a", 0.01)]);
        // Model b sends one call a second until 100 s, then nothing.
        if s < 100 {
            rig.put(vec![call(n + 1, s, 100, "b", 0.01)]);
        }
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "only b, and not while warming up: {states:?}");
    assert_eq!(states[0].1.as_deref(), Some("b"));
    assert!((115..=130).contains(&states[0].3), "{states:?}");
    assert!(states[0].2, "still quiet at the end");
}

#[test]
fn typos_show_as_unmatched() {
    let rules = r#"
[[rule]]
name = "typo-key"
metric = "error_rate"
group_by = "rout"
window = "1m"
op = ">"
threshold = 0.5

[[rule]]
name = "typo-evaluator"
metric = "eval_fail_rate"
evaluator = "Grounded"
window = "1m"
op = ">"
threshold = 0.5
"#;
    let mut rig = rig_with(rules, 0);
    rig.put(vec![root(1, 0, "/chat", "acme"), call(1, 0, 100, "m", 0.01)]);
    rig.store
        .insert_verdicts(vec![verdict(1, "Groundedness", 0.9, true)]);
    rig.sync();
    let u = rig.engine.unmatched();
    assert_eq!(u.len(), 2, "{u:?}");
    assert_eq!((u[0].rule, u[0].condition), (0, None), "group_by never found");
    assert_eq!(
        (u[1].rule, u[1].condition),
        (1, Some(0)),
        "the evaluator saw nothing"
    );
}

const COST_VS_BASELINE: &str = r#"
[[rule]]
name = "cost-drift"
metric = "cost_per_trace_usd"
compare = "baseline"
group_by = "route"
window = "60s"
op = ">"
threshold = 1.5
min_samples = 5
"#;

/// Routes /a, /b, /thin and /new, one trace a second each for two minutes, all at $0.02.
/// The baseline says /a cost $0.01 (so it is at 2x), /b $0.02 (1x), /thin $0.005 but from
/// only 3 traces (fewer than `min_samples`), and never saw /new.
fn against_baseline(rules: &str) -> Rig {
    let mut set = RuleSet::parse(rules).unwrap();
    let mut b = super::baseline::Baseline::default();
    b.set(0, 0, "/a", 0.01, 100);
    b.set(0, 0, "/b", 0.02, 100);
    b.set(0, 0, "/thin", 0.005, 3);
    set.baseline = Some(Arc::new(b));
    let mut rig = Rig {
        store: TraceStore::new(StoreLimits {
            max_spans: 100_000,
            max_bytes: 256 << 20,
            keep_share: crate::store::keep::DEFAULT_KEEP_SHARE,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        }),
        watch: Watch::default(),
        engine: Engine::new(
            set,
            EngineOptions {
                settle_secs: 0,
                exec: false,
                wall_clock: false,
            },
        ),
    };
    for s in 0..120u64 {
        for (k, route) in ["/a", "/b", "/thin", "/new"].into_iter().enumerate() {
            let n = (s * 4 + k as u64) as u32;
            rig.put(vec![call(n, s, 100, "m", 0.02), root(n, s, route, "acme")]);
        }
    }
    rig.engine.finish();
    rig
}

#[test]
fn a_baseline_rule_judges_each_cohort_against_its_own_baseline() {
    let rig = against_baseline(COST_VS_BASELINE);
    let fired: Vec<Option<String>> = rig.states().into_iter().map(|s| s.1).collect();
    assert_eq!(
        fired,
        vec![Some("/a".to_string())],
        "only /a is 50% above its baseline"
    );
    let alert = rig.engine.alerts()[0];
    let r = alert.first_readings[0];
    assert_eq!(r.baseline, Some(0.01));
    let line = super::check_line(&rig.engine.rules()[0], alert);
    assert!(
        line.starts_with("cost-drift route=/a value=0.02 > 1.5x baseline 0.01 from "),
        "{line}"
    );
    // /new is reported once; /thin is in the baseline (too thin to judge), so not new.
    assert_eq!(rig.engine.new_cohorts(), &[(0, Some("/new".to_string()))]);
    let mut summary = crate::summary::Summary::default();
    super::fill_summary(&mut summary, &rig.engine);
    assert_eq!(summary.alerts[0].baseline, Some(0.01));
    let section = summary.baseline.unwrap();
    assert_eq!(section.new_cohorts.len(), 1);
    assert_eq!(section.new_cohorts[0].cohort, "route=/new");
}

#[test]
fn baseline_diff_is_a_difference_in_points() {
    let rules = r#"
[[rule]]
name = "errors-up"
metric = "error_rate"
compare = "baseline_diff"
window = "60s"
op = ">"
threshold = 0.10
"#;
    let mut set = RuleSet::parse(rules).unwrap();
    let mut b = super::baseline::Baseline::default();
    b.set(0, 0, "", 0.05, 1000);
    set.baseline = Some(Arc::new(b));
    let mut rig = Rig {
        store: TraceStore::new(StoreLimits {
            max_spans: 100_000,
            max_bytes: 256 << 20,
            keep_share: crate::store::keep::DEFAULT_KEEP_SHARE,
            cost_floor_usd: crate::store::outliers::DEFAULT_FLOOR_USD,
        }),
        watch: Watch::default(),
        engine: Engine::new(set, EngineOptions::replay()),
    };
    // 10% of traces fail for the first two minutes (5 points above: quiet), then 20% (15
    // points: fires).
    for s in 0..240u64 {
        for k in 0..10u64 {
            let n = (s * 10 + k) as u32;
            let fail = k < if s < 120 { 1 } else { 2 };
            let mut c = call(n, s, 100, "m", 0.01);
            if fail {
                c.status = StatusCode::Error;
            }
            rig.put(vec![c, root(n, s, "/x", "acme")]);
        }
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert!(
        states[0].3 >= 120,
        "fires only once the rate is 15 points up: {states:?}"
    );
    let alert = rig.engine.alerts()[0];
    let line = super::check_line(&rig.engine.rules()[0], alert);
    assert!(line.contains("> baseline 0.05 + 0.1 from"), "{line}");
    assert!(rig.engine.new_cohorts().is_empty());
}

#[test]
fn eval_fail_rate_takes_the_person_over_the_judge() {
    let rules = r#"
[[rule]]
name = "ungrounded"
group_by = "route"
window = "1m"
metric = "eval_fail_rate"
evaluator = "groundedness"
op = ">"
threshold = 0.3
"#;
    let mut rig = Rig::new(rules);
    // The judge fails every call on /a and /b; on /a a person passes each one (false alarms).
    // Counting both verdicts, /a would stand at 0.5 and fire too.
    for s in 0..120u64 {
        for (k, route) in ["/a", "/b"].into_iter().enumerate() {
            let n = (s * 2 + k as u64) as u32;
            rig.store
                .insert_spans(vec![root(n, s, route, "t"), call(n, s, 200, "m", 0.01)]);
            let judge = verdict(n, "Groundedness", 0.2, false);
            let mut batch = vec![judge.clone()];
            if route == "/a" {
                batch.push(Verdict {
                    source: VerdictSource::Human,
                    passed: Some(true),
                    score: Some(1.0),
                    reviewer: Some("alice".into()),
                    ..judge
                });
            }
            rig.store.insert_verdicts(batch);
            rig.sync();
        }
    }
    rig.engine.finish();
    let states = rig.states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].1.as_deref(), Some("/b"));
}
