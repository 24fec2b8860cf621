//! Tests of external evaluators: which calls are chosen, the verdicts and counts a command yields.
use super::*;
use crate::eval::BuiltinConfig;
use crate::model::{Attr, SpanId, SpanKind, TraceId, Value};

const ANSWER: &str =
    r#"[{"role":"assistant","parts":[{"type":"text","content":"Orders ship in two days."}]}]"#;

fn span(trace: u8, id: u64, kind: Kind, parent: Option<u64>) -> SpanRecord {
    let mut s = crate::store::test_support::span(trace, 0, None, 0);
    s.span_id = SpanId(id.to_be_bytes());
    s.parent_span_id = parent.map(|p| SpanId(p.to_be_bytes()));
    s.start_unix_nano = 1_000_000_000;
    s.end_unix_nano = 1_500_000_000;
    s.name = Sym::from("chat gpt-4o");
    s.kind = SpanKind::Client;
    s.attributes = Box::new([Attr {
        key: Sym::from("gen_ai.output.messages"),
        value: Value::Str(ANSWER.into()),
    }]);
    s.sem = Some(Box::new(Semantics {
        kind,
        request_model: Some(Sym::from("gpt-4o")),
        ..Semantics::default()
    }));
    s
}

fn llm(trace: u8, id: u64) -> SpanRecord {
    span(trace, id, Kind::Llm, Some(1))
}

fn evaluators(toml_entries: &str) -> ExternalEvaluators {
    let file = crate::config_file::FileConfig::parse(toml_entries).unwrap();
    ExternalEvaluators::new(file.external, EvaluatorRules::default())
}

fn chosen(e: &ExternalEvaluators, spans: &[SpanRecord]) -> Vec<(usize, String, &'static str)> {
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), spans, &mut jobs);
    jobs.iter()
        .map(|j| (j.entry, j.call.span.span_id.to_string(), j.call.reason.as_str()))
        .collect()
}

#[test]
fn only_llm_calls_of_the_route_and_model_are_chosen() {
    let e = evaluators(
        r#"
        [[external]]
        name = "All"
        command = ["j"]
        [[external]]
        name = "Route"
        command = ["j"]
        route = "/refunds"
        [[external]]
        name = "Model"
        command = ["j"]
        model = "GPT-4O-2024-08-06"
        "#,
    );
    let mut root = span(1, 1, Kind::Agent, None);
    root.sem.as_mut().unwrap().route = Some(Sym::from("/refunds"));
    let mut answered = llm(1, 2);
    answered.sem.as_mut().unwrap().response_model = Some(Sym::from("gpt-4o-2024-08-06"));
    let other_trace = llm(2, 3);
    let embedding = span(1, 4, Kind::Embedding, Some(1));
    let spans = [root, answered, other_trace, embedding];
    assert_eq!(
        chosen(&e, &spans),
        [
            (0, "0000000000000002".into(), "sample"),
            // The route comes from the trace's root in the same request.
            (1, "0000000000000002".into(), "sample"),
            // The model filter matches the answering model, case-insensitively.
            (2, "0000000000000002".into(), "sample"),
            (0, "0000000000000003".into(), "sample"),
        ]
    );
}

#[test]
fn sampling_is_deterministic_and_failures_are_always_taken() {
    let e = evaluators(
        r#"
        [[external]]
        name = "Tenth"
        command = ["j"]
        sample = 0.1
        [[external]]
        name = "Failures"
        command = ["j"]
        sample = 0
        always = ["error", "slow", "cost_outlier"]
        slow_ms = 2000
        "#,
    );
    let spans: Vec<SpanRecord> = (10..1010).map(|i| llm(1, i)).collect();
    let first = chosen(&e, &spans);
    assert_eq!(first, chosen(&e, &spans), "a replay chooses the same calls");
    let tenth = first.iter().filter(|c| c.0 == 0).count();
    assert!((60..140).contains(&tenth), "{tenth}");
    assert!(
        first.iter().all(|c| c.0 == 0),
        "nothing failed, nothing for entry 1"
    );

    let mut failed = llm(1, 5000);
    failed.status = StatusCode::Error;
    let mut slow = llm(1, 5001);
    slow.end_unix_nano = slow.start_unix_nano + 2_500_000_000;
    let picks = |spans: &[SpanRecord]| -> Vec<&'static str> {
        chosen(&e, spans)
            .into_iter()
            .filter(|c| c.0 == 1)
            .map(|c| c.2)
            .collect()
    };
    assert_eq!(picks(&[failed, slow]), ["error", "slow"]);

    // Cost outliers: after 20 calls around $0.01, one at $0.05 (over 3x the median).
    let priced = |id: u64, cost: f64| {
        let mut s = llm(1, id);
        s.sem.as_mut().unwrap().cost_usd = Some(cost);
        s
    };
    let history: Vec<SpanRecord> = (0..20).map(|i| priced(6000 + i, 0.01)).collect();
    assert!(picks(&history).is_empty());
    assert_eq!(picks(&[priced(7000, 0.05)]), ["cost_outlier"]);
    assert!(picks(&[priced(7001, 0.02)]).is_empty());
}

#[test]
fn slow_defaults_to_the_routes_latency_budget() {
    let e = evaluators(
        r#"
        [[external]]
        name = "Slow"
        command = ["j"]
        sample = 0
        always = ["slow"]
        "#,
    );
    let builtin: BuiltinConfig = toml::from_str("[budgets.\"/fast\"]\nlatency_ms = 400").unwrap();
    let mut s = llm(1, 2); // 500 ms
    let mut jobs = Vec::new();
    e.select(&builtin, std::slice::from_ref(&s), &mut jobs);
    assert!(jobs.is_empty(), "no budget for its route: 10 s");
    s.sem.as_mut().unwrap().route = Some(Sym::from("/fast"));
    e.select(&builtin, std::slice::from_ref(&s), &mut jobs);
    assert_eq!(jobs.len(), 1);
}

/// Runs `script` (sh) as the entry's command on `n` calls and returns the verdicts delivered.
fn run_entry(extra: &str, script: &str, n: u64) -> (Vec<Verdict>, Counts) {
    run_config(
        &format!("[[external]]\nname = \"Judge\"\ncommand = [\"sh\", \"-c\", {script:?}]\n{extra}"),
        n,
    )
}

fn run_config(text: &str, n: u64) -> (Vec<Verdict>, Counts) {
    let e = Arc::new(evaluators(text));
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    e.start(Arc::new(move |v: Vec<Verdict>| {
        lock(&sink).extend(v);
        true
    }));
    let spans: Vec<SpanRecord> = (0..n).map(|i| llm(1, 100 + i)).collect();
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), &spans, &mut jobs);
    e.submit(jobs, false);
    e.drain_all();
    e.finish(Duration::ZERO);
    let counts = e.counts()[0].counts;
    let verdicts = std::mem::take(&mut *lock(&got));
    (verdicts, counts)
}

#[test]
fn a_verdict_per_call_on_its_span() {
    // The script echoes the span id it was given, to show the payload reached it.
    let script = r#"id=$(sed 's/.*"span_id":"\([0-9a-f]*\)".*/\1/'); printf '{"score": 0.25, "label": "ok", "explanation": "%s"}' "$id""#;
    let (mut verdicts, counts) = run_entry("", script, 3);
    verdicts.sort_by_key(|v| v.target.map(|t| t.0));
    assert_eq!(verdicts.len(), 3);
    for (i, v) in verdicts.iter().enumerate() {
        let id = SpanId((100 + i as u64).to_be_bytes());
        assert_eq!(v.target, Some(id));
        assert_eq!(v.trace_id, Some(TraceId([1; 16])));
        assert_eq!(&*v.name, "Judge");
        assert_eq!(v.score, Some(0.25));
        assert_eq!(v.label.as_deref(), Some("ok"));
        // The label decides ("ok" passes) before the score's default threshold would.
        assert_eq!(v.passed, Some(true));
        assert_eq!(v.explanation.as_deref(), Some(&*id.to_string()));
        assert_eq!(v.source, VerdictSource::External);
        assert_eq!(v.time_unix_nano, 1_500_000_000);
        assert!(v.is_notable());
    }
    assert_eq!(
        counts,
        Counts {
            selected: 3,
            evaluated: 3,
            ..Counts::default()
        }
    );
    // A name from the evaluator wins; the score decides against the default threshold.
    let (verdicts, _) = run_entry("", r#"echo '{"name": "Faithfulness", "score": 0.4}'"#, 1);
    assert_eq!(&*verdicts[0].name, "Faithfulness");
    assert_eq!(verdicts[0].passed, Some(false));
}

#[test]
fn failures_are_counted_by_kind() {
    let (v, c) = run_entry("", "cat >/dev/null; echo oops >&2; exit 1", 2);
    assert!(v.is_empty());
    assert_eq!((c.selected, c.failed), (2, 2));
    let (v, c) = run_entry("", "echo 'not json'", 2);
    assert!(v.is_empty());
    assert_eq!((c.selected, c.bad_output), (2, 2));
    let (v, c) = run_entry("timeout = \"200ms\"\nconcurrency = 2", "sleep 5", 2);
    assert!(v.is_empty());
    assert_eq!((c.selected, c.timed_out), (2, 2));
    let (_, c) = run_config(
        "[[external]]\nname = \"J\"\ncommand = [\"/nonexistent/judge\"]",
        1,
    );
    assert_eq!((c.selected, c.failed), (1, 1));
}

#[test]
fn a_full_queue_drops_and_counts_without_waiting() {
    let e = Arc::new(evaluators(
        "[[external]]\nname = \"Slow\"\ncommand = [\"sh\", \"-c\", \"sleep 0.3; echo '{\\\"score\\\": 1}'\"]\nqueue = 1\nconcurrency = 1\ntimeout = \"2s\"",
    ));
    e.start(Arc::new(|_| true));
    let spans: Vec<SpanRecord> = (0..20).map(|i| llm(1, 100 + i)).collect();
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), &spans, &mut jobs);
    let started = Instant::now();
    e.submit(jobs, false);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    e.drain_all();
    e.finish(Duration::ZERO);
    let c = e.counts()[0].counts;
    assert_eq!(c.selected, 20);
    // One running, one waiting at most: the rest overflowed.
    assert!(c.queue_overflow >= 18, "{c:?}");
    assert_eq!(c.evaluated + c.queue_overflow, 20, "{c:?}");
}

#[test]
fn waiting_submitters_get_everything_evaluated() {
    let e = Arc::new(evaluators(
        "[[external]]\nname = \"J\"\ncommand = [\"sh\", \"-c\", \"echo '{\\\"passed\\\": true}'\"]\nqueue = 1\nconcurrency = 1",
    ));
    e.start(Arc::new(|_| true));
    let spans: Vec<SpanRecord> = (0..6).map(|i| llm(1, 100 + i)).collect();
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), &spans, &mut jobs);
    e.submit(jobs, true);
    assert!(e.drain_all());
    e.finish(Duration::ZERO);
    let c = e.counts()[0].counts;
    assert_eq!((c.selected, c.evaluated, c.queue_overflow), (6, 6, 0));
}

#[test]
fn stopping_kills_what_runs_and_counts_what_never_ran() {
    let e = Arc::new(evaluators(
        "[[external]]\nname = \"J\"\ncommand = [\"sh\", \"-c\", \"sleep 10\"]\nconcurrency = 1\ntimeout = \"30s\"",
    ));
    e.start(Arc::new(|_| true));
    let spans: Vec<SpanRecord> = (0..3).map(|i| llm(1, 100 + i)).collect();
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), &spans, &mut jobs);
    e.submit(jobs, false);
    let started = Instant::now();
    e.finish(Duration::from_millis(100));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let c = e.counts()[0].counts;
    assert_eq!((c.selected, c.unfinished), (3, 3), "{c:?}");
    // Submitted after the stop: never run, counted.
    let mut jobs = Vec::new();
    e.select(&BuiltinConfig::default(), &spans[..1], &mut jobs);
    e.submit(jobs, true);
    assert_eq!(e.counts()[0].counts.unfinished, 4);
}
