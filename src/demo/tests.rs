//! Tests of the demo generator: determinism, rates, timing and the incidents it scripts.
use super::traffic::{RETRY_LOOP_ROUTE, SLOW_MODEL, UNGROUNDED_TENANT};
use super::*;
use crate::cost::CostTable;
use crate::model::convert::{validate_logs, validate_traces};
use crate::model::{ConvertLimits, Converter, SpanRecord, StatusCode, TraceId};
use crate::semconv::{Kind, Verdict, VerdictSource};
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const START: u64 = 1_800_000_000_000_000_000;

fn config(seed: u64, spans_per_sec: f64) -> DemoConfig {
    DemoConfig {
        seed,
        spans_per_sec,
        start_unix_nano: START,
    }
}

fn batches(seed: u64, rate: f64, secs: usize) -> Vec<DemoBatch> {
    let mut g = DemoGenerator::new(config(seed, rate));
    (0..secs).map(|_| g.next_second()).collect()
}

fn encoded(b: &DemoBatch) -> (Vec<u8>, Vec<u8>) {
    (
        b.traces.encode_to_vec(),
        b.logs.as_ref().map(|l| l.encode_to_vec()).unwrap_or_default(),
    )
}

/// What llmwatch's own conversion made of the demo, with the second each trace came in.
#[derive(Default)]
struct Converted {
    spans: Vec<SpanRecord>,
    verdicts: Vec<Verdict>,
    /// Second (batch index) of every trace.
    second: HashMap<TraceId, u64>,
}

fn convert(batches: &[DemoBatch]) -> Converted {
    let costs = Arc::new(CostTable::bundled());
    let mut conv = Converter::new(ConvertLimits::default(), Arc::default(), Some(costs));
    let mut out = Converted::default();
    for (k, b) in batches.iter().enumerate() {
        let mut traces = b.traces.clone();
        let rejected = validate_traces(&mut traces);
        assert_eq!(rejected.count, 0, "second {k}: {:?}", rejected.message);
        let before = out.spans.len();
        conv.convert_traces(traces, &mut out.spans, &mut out.verdicts);
        assert_eq!(out.spans.len() - before, b.span_count());
        for s in &out.spans[before..] {
            out.second.insert(s.trace_id, k as u64);
        }
        if let Some(logs) = &b.logs {
            let mut logs = logs.clone();
            assert_eq!(validate_logs(&mut logs).count, 0);
            let mut records = Vec::new();
            let before = out.verdicts.len();
            conv.convert_logs(logs, &mut records, &mut out.verdicts);
            assert_eq!(records.len(), b.log_count());
            assert_eq!(
                out.verdicts.len() - before,
                records.len(),
                "every log record is a verdict"
            );
        }
    }
    let stats = conv.stats();
    assert_eq!(
        (stats.truncated_values, stats.dropped_attributes),
        (0, 0),
        "nothing cut"
    );
    out
}

/// One trace, summarised from its normalised spans.
#[derive(Debug, Default)]
struct TraceSummary {
    route: Option<String>,
    tenant: Option<String>,
    second: u64,
    cost: f64,
    spans: usize,
}

fn summarise(c: &Converted) -> HashMap<TraceId, TraceSummary> {
    let mut traces: HashMap<TraceId, TraceSummary> = HashMap::new();
    for s in &c.spans {
        let t = traces.entry(s.trace_id).or_default();
        t.second = c.second[&s.trace_id];
        t.spans += 1;
        let Some(sem) = s.sem.as_deref() else { continue };
        t.cost += sem.cost_usd.unwrap_or(0.0);
        if s.parent_span_id.is_none() {
            t.route = sem.route.as_deref().map(String::from);
            t.tenant = sem.tenant.as_deref().map(String::from);
        }
    }
    traces
}

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mean(v: &[f64]) -> f64 {
    assert!(!v.is_empty());
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn same_seed_same_bytes() {
    let a = batches(42, 300.0, 30);
    let b = batches(42, 300.0, 30);
    assert_eq!(a.len(), b.len());
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.end_unix_nano, y.end_unix_nano);
        assert_eq!(encoded(x), encoded(y), "second {k} differs");
    }
    assert!(a.iter().any(|x| x.logs.is_some()));
}

#[test]
fn different_seeds_different_traffic() {
    let a = batches(1, 300.0, 5);
    let b = batches(2, 300.0, 5);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.end_unix_nano, y.end_unix_nano);
        assert_ne!(encoded(x).0, encoded(y).0);
    }
    let ids = |bs: &[DemoBatch]| -> BTreeSet<Vec<u8>> {
        bs.iter()
            .flat_map(|b| &b.traces.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.trace_id.clone())
            .collect()
    };
    assert!(ids(&a).is_disjoint(&ids(&b)));
}

/// Spans of a batch the rate governs: all but the tools' HTTP calls, which ride along.
fn rated_spans(b: &DemoBatch) -> usize {
    let plumbing = b
        .traces
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .filter(|s| s.name == "GET")
        .count();
    b.span_count() - plumbing
}

#[test]
fn span_rate_follows_the_config() {
    for rate in [250.0, 1000.0] {
        let bs = batches(7, rate, 60);
        assert!(bs.iter().any(|b| rated_spans(b) < b.span_count()));
        let total: usize = bs.iter().map(rated_spans).sum();
        let want = rate * 60.0;
        assert!(
            (total as f64 - want).abs() / want < 0.02,
            "{total} spans in 60 s at {rate}/s"
        );
        for (k, b) in bs.iter().enumerate() {
            let n = rated_spans(b) as f64;
            assert!((n - rate).abs() < 60.0, "second {k}: {n} spans at {rate}/s");
        }
    }
    // Below a trace a second, seconds without traffic alternate with whole traces.
    let bs = batches(7, 3.0, 60);
    let total: usize = bs.iter().map(DemoBatch::span_count).sum();
    assert!((150..=230).contains(&total), "{total} spans in 60 s at 3/s");
    assert!(bs.iter().any(|b| b.span_count() == 0));
    // Nothing at all at rate 0 (and no NaN surprises).
    assert!(
        batches(7, 0.0, 3)
            .iter()
            .all(|b| b.span_count() == 0 && b.logs.is_none())
    );
    assert!(batches(7, f64::NAN, 3).iter().all(|b| b.span_count() == 0));
}

#[test]
fn seconds_advance_and_traces_end_inside_their_second() {
    let bs = batches(3, 200.0, 20);
    let mut g = DemoGenerator::new(config(3, 200.0));
    assert_eq!(g.elapsed_secs(), 0);
    g.next_second();
    assert_eq!(g.elapsed_secs(), 1);
    let mut seen = BTreeSet::new();
    for (k, b) in bs.iter().enumerate() {
        let end = START + (k as u64 + 1) * 1_000_000_000;
        assert_eq!(b.end_unix_nano, end);
        let mut by_trace: BTreeMap<Vec<u8>, (u64, u64)> = BTreeMap::new();
        for s in b
            .traces
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
            assert!(s.end_time_unix_nano < end, "{} ends after its batch", s.name);
            for e in &s.events {
                assert!((s.start_time_unix_nano..=s.end_time_unix_nano).contains(&e.time_unix_nano));
            }
            let t = by_trace.entry(s.trace_id.clone()).or_insert((u64::MAX, 0));
            *t = (t.0.min(s.start_time_unix_nano), t.1.max(s.end_time_unix_nano));
        }
        for (id, (_, last_end)) in &by_trace {
            assert!(
                last_end + 1_000_000_000 > end,
                "a trace ends in its batch's second"
            );
            assert!(seen.insert(id.clone()), "a trace is in one batch only");
        }
        for l in b
            .logs
            .iter()
            .flat_map(|l| &l.resource_logs)
            .flat_map(|rl| &rl.scope_logs)
        {
            for r in &l.log_records {
                assert!(
                    end - 1_000_000_000 <= r.time_unix_nano && r.time_unix_nano < end,
                    "log at {} in the second ending {end}",
                    r.time_unix_nano
                );
                assert!(
                    by_trace.contains_key(&r.trace_id),
                    "a verdict's trace is in its batch"
                );
            }
        }
    }
}

#[test]
fn models_are_real_and_priced() {
    let table = CostTable::bundled();
    let models: Vec<_> = models().collect();
    for (model, provider) in &models {
        assert!(
            table.lookup(Some(provider), model).is_some(),
            "{provider}/{model} is not in prices.json"
        );
    }
    let chat: BTreeSet<_> = models.iter().filter(|(m, _)| !m.contains("embedding")).collect();
    assert!(chat.len() >= 3);
    let providers: BTreeSet<_> = models.iter().map(|(_, p)| *p).collect();
    assert!(providers.len() >= 2, "{providers:?}");
}

#[test]
fn the_schedule_names_what_the_generator_does() {
    assert_eq!(INCIDENTS.len(), 3);
    let mut last_end = 0;
    for inc in INCIDENTS {
        assert!(inc.starts_after_secs >= last_end && inc.starts_after_secs < inc.ends_after_secs);
        assert!(inc.ends_after_secs <= CYCLE_SECS);
        last_end = inc.ends_after_secs;
        assert!(inc.active_at(inc.starts_after_secs) && !inc.active_at(inc.ends_after_secs));
        assert!(inc.active_at(inc.starts_after_secs + CYCLE_SECS));
    }
    assert_eq!(INCIDENTS[0].cohort_parts(), ("route", RETRY_LOOP_ROUTE));
    assert_eq!(INCIDENTS[1].cohort_parts(), ("model", SLOW_MODEL.request));
    assert_eq!(INCIDENTS[2].cohort_parts(), ("tenant", UNGROUNDED_TENANT));
}

#[test]
fn content_is_valid_json_in_the_conventions_shapes() {
    let bs = batches(11, 400.0, 10);
    let mut checked = BTreeMap::<&str, usize>::new();
    for s in bs
        .iter()
        .flat_map(|b| &b.traces.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
    {
        for kv in &s.attributes {
            let Some(any_value::Value::StringValue(v)) = kv.value.as_ref().and_then(|v| v.value.as_ref())
            else {
                continue;
            };
            let key = kv.key.as_str();
            match key {
                "gen_ai.input.messages" | "gen_ai.output.messages" => {
                    let msgs: serde_json::Value = serde_json::from_str(v).expect(v);
                    let msgs = msgs.as_array().expect("a list of messages");
                    assert!(!msgs.is_empty());
                    for m in msgs {
                        assert!(m["role"].is_string() && m["parts"].is_array(), "{m}");
                    }
                }
                "gen_ai.retrieval.documents"
                | "gen_ai.tool.call.arguments"
                | "metadata"
                | "llm.invocation_parameters" => {
                    serde_json::from_str::<serde_json::Value>(v).expect(v);
                }
                "gen_ai.tool.call.result" if v.starts_with('{') => {
                    serde_json::from_str::<serde_json::Value>(v).expect(v);
                }
                _ => continue,
            }
            *checked
                .entry(match key {
                    "gen_ai.tool.call.result" => "tool result",
                    k => k,
                })
                .or_default() += 1;
        }
    }
    assert_eq!(checked.len(), 7, "{checked:?}");
}

#[test]
fn every_span_converts_with_priced_models_and_the_features_a_newcomer_should_see() {
    let bs = batches(5, 60.0, CYCLE_SECS as usize);
    let c = convert(&bs);
    let total: usize = bs.iter().map(DemoBatch::span_count).sum();
    assert_eq!(c.spans.len(), total);

    let mut kinds = BTreeSet::new();
    let mut models = BTreeMap::<String, String>::new();
    let (mut ttft_attr, mut ttft_event, mut cache, mut cache_write, mut reasoning) = (0, 0, 0, 0, 0);
    let (mut errors, mut exceptions, mut error_types, mut streaming) = (0, 0, 0, 0);
    let (mut routes, mut tenants, mut services, mut sessions) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut span_ids = HashMap::new();
    let mut plumbing = 0;
    for s in &c.spans {
        span_ids.insert(s.span_id, s.trace_id);
        services.insert(s.service().to_string());
        if s.status == StatusCode::Error {
            errors += 1;
            assert!(
                s.events.iter().any(|e| &*e.name == "exception")
                    || s.attr("http.response.status_code").is_some()
            );
        }
        exceptions += s.events.iter().filter(|e| &*e.name == "exception").count();
        error_types += usize::from(s.attr("error.type").is_some());
        // The tools' HTTP calls are plumbing (the drill-down's GenAI-only tree hides them).
        if s.sem.is_none() && s.attr("http.request.method").is_some() && s.attr("url.full").is_some() {
            plumbing += 1;
            continue;
        }
        let sem = s
            .sem
            .as_deref()
            .unwrap_or_else(|| panic!("{} normalised to nothing", s.name));
        // Everything but the triage route's HTTP server span is an LLM-world span.
        assert!(
            sem.kind != Kind::Other || s.attr("http.route").is_some(),
            "{}",
            s.name
        );
        kinds.insert(sem.kind.as_str());
        if sem.is_model_call() {
            let model = sem.model().unwrap_or_else(|| panic!("{} has no model", s.name));
            let provider = sem.provider.as_deref().expect("a provider");
            models.insert(model.to_string(), provider.to_string());
            if let Some(u) = sem.usage {
                assert!(!sem.unpriced, "{model} from {provider} is unpriced");
                let cost = sem.cost_usd.expect("priced");
                assert!(cost > 0.0 || u.input == 0, "{model}: ${cost}");
                assert!(u.input > 0 && u.cache_read + u.cache_write <= u.input);
                cache += usize::from(u.cache_read > 0);
                cache_write += usize::from(u.cache_write > 0);
                reasoning += usize::from(u.reasoning > 0);
            } else {
                assert_eq!(s.status, StatusCode::Error, "{} without usage", s.name);
            }
        }
        if let Some(ttft) = sem.ttft_nanos {
            assert!(ttft > 0 && ttft < s.duration_nanos());
            if s.attr("gen_ai.response.time_to_first_chunk").is_some() {
                ttft_attr += 1;
            } else {
                ttft_event += 1;
            }
        }
        streaming += usize::from(sem.streaming == Some(true));
        if s.parent_span_id.is_none() {
            routes.insert(sem.route.as_deref().expect("a route on the root").to_string());
            tenants.insert(sem.tenant.as_deref().expect("a tenant on the root").to_string());
            sessions.insert(sem.session.as_deref().expect("a session").to_string());
            assert!(sem.user.is_some());
        }
    }
    for k in ["agent", "embedding", "retrieval", "llm", "tool"] {
        assert!(kinds.contains(k), "no {k} spans: {kinds:?}");
    }
    assert!(models.len() >= 5, "{models:?}");
    assert!(models.values().any(|p| p == "anthropic") && models.values().any(|p| p == "openai"));
    assert!(ttft_attr > 50 && ttft_event > 50, "{ttft_attr} {ttft_event}");
    assert!(streaming > 100 && cache > 100 && cache_write > 10 && reasoning > 50);
    assert!(
        errors > 20 && exceptions >= errors / 2 && error_types > 20,
        "{errors} {exceptions}"
    );
    assert!(errors * 10 < c.spans.len(), "errors are the exception");
    assert_eq!(routes.len(), 5, "{routes:?}");
    assert_eq!(tenants.len(), 6, "{tenants:?}");
    assert_eq!(services.len(), 3, "{services:?}");
    assert!(
        sessions.len() > 100 && sessions.len() * 2 < c.second.len(),
        "sessions repeat"
    );
    assert!(plumbing > 0, "tool calls make HTTP calls");

    // Verdicts: three evaluators, three encodings, each about a span of the demo.
    let mut seen = BTreeSet::new();
    for v in &c.verdicts {
        let target = v.target.expect("a verdict names its span");
        assert_eq!(Some(span_ids[&target]), v.trace_id, "{}", v.name);
        assert!(v.passed.is_some() && v.score.is_some());
        seen.insert((v.name.to_string(), v.source.as_str()));
    }
    for (name, source) in [
        ("Groundedness", VerdictSource::SpanEvent),
        ("HallucinationScore", VerdictSource::SpanEvent),
        ("Groundedness", VerdictSource::Annotation),
        ("HallucinationScore", VerdictSource::Annotation),
        ("Relevance", VerdictSource::LogRecord),
    ] {
        assert!(
            seen.contains(&(name.to_string(), source.as_str())),
            "no {name} via {source:?}"
        );
    }
}

#[test]
fn incidents_are_detectable_in_the_normalised_data() {
    // A full cycle plus the start of the next, so "outside" covers quiet time on both sides.
    let bs = batches(9, 80.0, CYCLE_SECS as usize + 60);
    let c = convert(&bs);
    let traces = summarise(&c);
    let [cost_spike, latency, grounding] = [INCIDENTS[0], INCIDENTS[1], INCIDENTS[2]];

    // Cost spike: cost per trace on the refund route, inside vs outside; other routes steady.
    let per_trace = |route: &str, inside: bool| -> Vec<f64> {
        traces
            .values()
            .filter(|t| t.route.as_deref() == Some(route) && cost_spike.active_at(t.second) == inside)
            .map(|t| t.cost)
            .collect()
    };
    let (cost_in, cost_out) = (
        mean(&per_trace(RETRY_LOOP_ROUTE, true)),
        mean(&per_trace(RETRY_LOOP_ROUTE, false)),
    );
    assert!(
        cost_in > 3.0 * cost_out,
        "refund cost per trace ${cost_in:.4} inside vs ${cost_out:.4} outside"
    );
    let (other_in, other_out) = (
        mean(&per_trace("/support/order-status", true)),
        mean(&per_trace("/support/order-status", false)),
    );
    assert!(
        (0.7..1.4).contains(&(other_in / other_out)),
        "{other_in} vs {other_out}"
    );
    let spans_in = mean(
        &traces
            .values()
            .filter(|t| t.route.as_deref() == Some(RETRY_LOOP_ROUTE) && cost_spike.active_at(t.second))
            .map(|t| t.spans as f64)
            .collect::<Vec<_>>(),
    );
    assert!(spans_in > 15.0, "a retry loop is many spans: {spans_in}");

    // Latency regression: p50 duration of the slow model's calls, inside vs outside.
    let p50 = |model: &str, inside: bool| -> f64 {
        median(
            c.spans
                .iter()
                .filter(|s| s.status != StatusCode::Error)
                .filter(|s| {
                    s.sem.as_deref().and_then(|m| m.model()).map(|m| &**m) == Some(model)
                        && latency.active_at(c.second[&s.trace_id]) == inside
                })
                .map(|s| s.duration_nanos() as f64)
                .collect(),
        )
    };
    let (slow_in, slow_out) = (p50(SLOW_MODEL.request, true), p50(SLOW_MODEL.request, false));
    assert!(
        slow_in > 2.5 * slow_out,
        "{} p50 {:.0} ms inside vs {:.0} ms outside",
        SLOW_MODEL.request,
        slow_in / 1e6,
        slow_out / 1e6
    );
    let (mini_in, mini_out) = (p50("gpt-4o-mini", true), p50("gpt-4o-mini", false));
    assert!(
        (0.8..1.25).contains(&(mini_in / mini_out)),
        "{mini_in} vs {mini_out}"
    );

    // Groundedness drop: the cohort's fail rate inside vs outside; other tenants unaffected.
    let fail_rate = |tenant_is_cohort: bool, inside: bool| -> f64 {
        let verdicts: Vec<bool> = c
            .verdicts
            .iter()
            .filter(|v| &*v.name == "Groundedness")
            .filter_map(|v| {
                let t = &traces[&v.trace_id?];
                let cohort = t.tenant.as_deref() == Some(UNGROUNDED_TENANT);
                (cohort == tenant_is_cohort && grounding.active_at(t.second) == inside).then_some(v.passed?)
            })
            .collect();
        assert!(verdicts.len() > 30, "{} verdicts", verdicts.len());
        verdicts.iter().filter(|p| !**p).count() as f64 / verdicts.len() as f64
    };
    let (in_rate, out_rate) = (fail_rate(true, true), fail_rate(true, false));
    assert!(
        in_rate > 0.6 && out_rate < 0.15,
        "{UNGROUNDED_TENANT} Groundedness fail rate {in_rate:.2} inside vs {out_rate:.2} outside"
    );
    let others_in = fail_rate(false, true);
    assert!(
        others_in < 0.15,
        "other tenants fail {others_in:.2} during the drop"
    );
    eprintln!(
        "cost/trace {RETRY_LOOP_ROUTE}: ${cost_in:.4} vs ${cost_out:.4}; {} p50: {:.0} vs {:.0} ms; \
         {UNGROUNDED_TENANT} Groundedness fail rate {in_rate:.2} vs {out_rate:.2} (others {others_in:.2})",
        SLOW_MODEL.request,
        slow_in / 1e6,
        slow_out / 1e6
    );
    let scores_in: Vec<f64> = c
        .verdicts
        .iter()
        .filter(|v| &*v.name == "Groundedness" && v.passed == Some(false))
        .filter_map(|v| v.score)
        .collect();
    assert!(scores_in.iter().all(|s| *s < 0.5));
}

/// Generation speed on one core (dropping the batches included, as a sender drops them after
/// encoding): `cargo test --release --lib demo::tests::generation_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn generation_speed() {
    for rate in [2_000.0, 50_000.0] {
        let mut g = DemoGenerator::new(config(1, rate));
        let started = std::time::Instant::now();
        let (mut spans, mut bytes) = (0, 0);
        while started.elapsed().as_secs_f64() < 2.0 {
            let b = g.next_second();
            spans += b.span_count();
            bytes += b.traces.encoded_len() + b.logs.as_ref().map_or(0, |l| l.encoded_len());
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "demo generation at {rate} spans per batch: {:.0} spans/s ({:.0} bytes/span encoded)",
            spans as f64 / secs,
            bytes as f64 / spans as f64
        );
    }
}
