//! Captures for drift tests (`check --baseline`, `diff`): the same agent traffic with or
//! without a change, written as OTLP/JSON lines (one trace a line).
//!
//! Three routes (`/claims`, `/search`, `/chat`) of the service `claims-agent`, one trace per
//! route every 5 s of event time for `minutes`, starting at [`START_SECS`]. A trace is a root
//! span carrying `app.route`, two `chat gpt-4o-mini` calls (input about 400 tokens, output
//! about 80, both varying from trace to trace, latency 600-1400 ms) and two tool spans
//! (`lookup_policy` with the trace's own arguments, `search_docs`); every fifth trace retries
//! `lookup_policy` once with the same arguments. Everything is a function of the trace number,
//! so two captures differ only in what [`Drift`] asks for:
//! - `retry_loop`: on that route every trace retries `lookup_policy` three more times with the
//!   same arguments (repeated tool calls per trace: 0.2 → 3.2; tool calls per trace and spans
//!   per trace rise by 3).
//! - `longer_prompt`: on that route every model call's prompt is 2.5 times longer (input
//!   tokens per call and cost rise; nothing else changes).
//! - `new_route`: one more route with the same traffic as `/chat`.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::Path;

/// Event time of the first trace (2026-11-25T12:00:00Z).
pub const START_SECS: u64 = 1_795_608_000;
/// The routes of every capture.
pub const ROUTES: [&str; 3] = ["/claims", "/search", "/chat"];

/// What a capture changes against the baseline traffic (`Drift::default()`: none).
#[derive(Clone, Copy, Debug, Default)]
pub struct Drift<'a> {
    pub retry_loop: Option<&'a str>,
    pub longer_prompt: Option<&'a str>,
    pub new_route: Option<&'a str>,
}

/// Writes `minutes` of traffic with `drift` to `path` (OTLP/JSON lines).
pub fn write_capture(path: &Path, minutes: u64, drift: Drift) {
    let mut out = String::new();
    let mut routes: Vec<&str> = ROUTES.to_vec();
    routes.extend(drift.new_route);
    for k in 0..minutes * 12 {
        for (r, route) in routes.iter().enumerate() {
            let line = trace_line(k, r as u64, route, &drift);
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    std::fs::write(path, out).expect("write capture");
}

/// A small deterministic spread in 0..n from the trace number and a salt.
fn spread(k: u64, salt: u64, n: u64) -> u64 {
    let x = (k + 1)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(salt.wrapping_mul(1442695040888963407));
    (x >> 33) % n
}

fn attr(key: &str, value: Value) -> Value {
    let v = match value {
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::String(s) => json!({"stringValue": s}),
        other => other,
    };
    json!({"key": key, "value": v})
}

fn span(
    trace: &str,
    id: u64,
    parent: Option<u64>,
    name: &str,
    start: u64,
    ms: u64,
    attrs: Vec<Value>,
) -> Value {
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
}

/// Trace `k` of route number `r`: one export request.
fn trace_line(k: u64, r: u64, route: &str, drift: &Drift) -> Value {
    let trace = format!("{:016x}{:016x}", 0xd21f7_u64 + r, k + 1);
    let base_id = (r + 1) << 40 | (k + 1) << 8;
    let t0 = (START_SECS + k * 5) * 1_000_000_000 + r * 1_000_000;
    let prompt_factor = if drift.longer_prompt == Some(route) {
        2.5
    } else {
        1.0
    };
    let mut spans = Vec::new();
    let mut at = t0 + 5_000_000;
    let mut next = 1;
    let mut child = |spans: &mut Vec<Value>, at: &mut u64, name: &str, ms: u64, attrs: Vec<Value>| {
        next += 1;
        spans.push(span(
            &trace,
            base_id + next,
            Some(base_id + 1),
            name,
            *at,
            ms,
            attrs,
        ));
        *at += ms * 1_000_000 + 2_000_000;
    };
    let args = format!("{{\"claim\": \"C-{k}\"}}");
    let tool = |name: &str, args: &str| {
        vec![
            attr("gen_ai.operation.name", json!("execute_tool")),
            attr("gen_ai.tool.name", json!(name)),
            attr("gen_ai.tool.call.arguments", json!(args)),
        ]
    };
    let retries = u64::from(k % 5 == 0) + if drift.retry_loop == Some(route) { 3 } else { 0 };
    for call in 0..2u64 {
        let input = ((380 + spread(k, call, 60)) as f64 * prompt_factor) as i64;
        let output = 60 + spread(k, call + 10, 40) as i64;
        let ms = 600 + spread(k, call + 20, 800);
        child(
            &mut spans,
            &mut at,
            "chat gpt-4o-mini",
            ms,
            vec![
                attr("gen_ai.operation.name", json!("chat")),
                attr("gen_ai.provider.name", json!("openai")),
                attr("gen_ai.request.model", json!("gpt-4o-mini")),
                attr("gen_ai.usage.input_tokens", json!(input)),
                attr("gen_ai.usage.output_tokens", json!(output)),
            ],
        );
        if call == 0 {
            for _ in 0..=retries {
                let ms = 40 + spread(k, 30, 40);
                child(
                    &mut spans,
                    &mut at,
                    "execute_tool lookup_policy",
                    ms,
                    tool("lookup_policy", &args),
                );
            }
            let q = format!("{{\"q\": \"policy {k}\"}}");
            child(
                &mut spans,
                &mut at,
                "execute_tool search_docs",
                80,
                tool("search_docs", &q),
            );
        }
    }
    let end = at;
    spans.insert(
        0,
        span(
            &trace,
            base_id + 1,
            None,
            "handle_request",
            t0,
            (end - t0) / 1_000_000 + 1,
            vec![attr("app.route", json!(route)), attr("tenant.id", json!("acme"))],
        ),
    );
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", json!("claims-agent"))]},
        "scopeSpans": [{"scope": {"name": "drift-test"}, "spans": spans}],
    }]})
}
