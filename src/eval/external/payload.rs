//! What an evaluator reads on stdin (one JSON object per call, schema in the module
//! documentation of [`super`]) and what it must answer on stdout.

use super::select::Reason;
use crate::intern::Sym;
use crate::model::record::{SpanRecord, StatusCode, Value};
use crate::semconv::content::{self, Document, Message};
use crate::semconv::secrets;
use serde_json::{Map, Value as Json, json};

/// Attribute values longer than this are left out of `attributes`: they are content, which
/// `input`, `output` and `context` carry already.
pub const MAX_ATTRIBUTE_BYTES: usize = 4096;
/// Longest explanation kept from an answer.
pub const MAX_EXPLANATION_BYTES: usize = 16 * 1024;
/// Longest verdict name accepted from an answer.
pub const MAX_NAME_BYTES: usize = 128;

/// One selected call and what its request said about its trace.
#[derive(Clone, Debug)]
pub struct Call {
    pub span: SpanRecord,
    /// Documents of the retrieval spans of the same trace in the same request.
    pub documents: Vec<Document>,
    /// The trace's route and tenant as the request tells them (the root's, else the span's).
    pub route: Option<Sym>,
    pub tenant: Option<Sym>,
    pub reason: Reason,
}

fn message(m: &Message) -> Json {
    json!({
        "role": m.role,
        "content": m.content,
        "tool_calls": m.tool_calls.iter().map(|c| json!({
            "id": c.id,
            "name": c.name,
            "arguments": c.arguments,
        })).collect::<Vec<_>>(),
        "tool_call_id": m.tool_call_id,
    })
}

/// The span's scalar attributes as JSON (credentials redacted, bulky and long values left out).
fn attributes(span: &SpanRecord) -> Map<String, Json> {
    let mut out = Map::new();
    for a in span.attributes.iter() {
        if content::is_bulky(&a.key) {
            continue;
        }
        let v = match &a.value {
            Value::Str(_) | Value::Sym(_) => {
                let s = a.value.as_str().unwrap_or_default();
                if s.len() > MAX_ATTRIBUTE_BYTES {
                    continue;
                }
                Json::String(content::redact(&a.key, s).unwrap_or_else(|| s.to_string()))
            }
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
            Value::Bytes(_) | Value::Array(_) | Value::Map(_) | Value::Empty => continue,
        };
        out.insert(a.key.to_string(), v);
    }
    out
}

/// The JSON object written to the evaluator's stdin.
pub fn payload(evaluator: &str, call: &Call) -> Json {
    let s = &call.span;
    let sem = s.sem.as_deref();
    let conversation = content::conversation(s);
    let tool_results: Vec<Json> = conversation
        .input
        .iter()
        .filter(|m| m.role == "tool" && !m.content.trim().is_empty())
        .map(|m| json!({"tool_call_id": m.tool_call_id, "content": m.content}))
        .collect();
    let error = (s.status == StatusCode::Error).then(|| {
        s.status_message
            .as_deref()
            .or_else(|| s.attr("error.type").and_then(Value::as_str))
            .unwrap_or("error")
            .to_string()
    });
    let tokens = sem.and_then(|m| m.usage).map(|u| {
        json!({
            "input": u.input,
            "output": u.output,
            "total": u.total,
            "cache_read": u.cache_read,
            "cache_write": u.cache_write,
            "reasoning": u.reasoning,
        })
    });
    let mut p = json!({
        "evaluator": evaluator,
        "selected_by": call.reason.as_str(),
        "trace_id": s.trace_id.to_string(),
        "span_id": s.span_id.to_string(),
        "parent_span_id": s.parent_span_id.map(|p| p.to_string()),
        "name": &*s.name,
        "service": s.service(),
        "kind": sem.map_or("other", |m| m.kind.as_str()),
        "provider": sem.and_then(|m| m.provider.as_deref()),
        "model": sem.and_then(|m| m.model().map(|x| &**x)),
        "response_model": sem.and_then(|m| m.response_model.as_deref()),
        "route": call.route.as_deref(),
        "tenant": call.tenant.as_deref(),
        "start_unix_nano": s.start_unix_nano,
        "duration_ms": s.duration_nanos() as f64 / 1e6,
        "status": s.status.as_str(),
        "error": error,
        "tokens": tokens,
        "cost_usd": sem.and_then(|m| m.cost_usd),
        "system": conversation.system.iter().map(message).collect::<Vec<_>>(),
        "input": conversation.input.iter().map(message).collect::<Vec<_>>(),
        "output": conversation.output.iter().map(message).collect::<Vec<_>>(),
        "context": call.documents.iter().map(|d| json!({
            "id": d.id,
            "content": d.content,
            "score": d.score,
        })).collect::<Vec<_>>(),
        "tool_results": tool_results,
        "attributes": attributes(s),
    });
    redact_secrets(&mut p);
    p
}

/// Secret shapes (API keys, tokens, URL passwords) replaced in every string of the payload:
/// messages, documents and tool results reach an outside command too.
fn redact_secrets(v: &mut Json) {
    match v {
        Json::String(s) => {
            if let Some(r) = secrets::redact_secrets(s) {
                *s = r;
            }
        }
        Json::Array(items) => items.iter_mut().for_each(redact_secrets),
        Json::Object(map) => map.values_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// An evaluator's answer: one JSON object on stdout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub name: Option<String>,
    pub score: Option<f64>,
    pub label: Option<String>,
    pub passed: Option<bool>,
    pub explanation: Option<String>,
}

/// Reads an answer; the error says in a few words what is wrong with it.
pub fn parse_answer(stdout: &[u8]) -> Result<Answer, String> {
    let text = std::str::from_utf8(stdout).map_err(|_| "output is not UTF-8".to_string())?;
    let text = text.trim();
    if text.is_empty() {
        return Err("no output".into());
    }
    let json: Json = serde_json::from_str(text).map_err(|e| format!("output is not JSON ({e})"))?;
    let Json::Object(o) = json else {
        return Err("output is not a JSON object".into());
    };
    let field = |k: &str| o.get(k).filter(|v| !v.is_null());
    let string = |k: &str| -> Result<Option<String>, String> {
        match field(k) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{k} is not a string")),
        }
    };
    let score = match field("score") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|f| f.is_finite())
                .ok_or("score is not a number")?,
        ),
    };
    let passed = match field("passed") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or("passed is not true or false")?),
    };
    let name = string("name")?;
    if let Some(n) = &name
        && (n.trim().is_empty() || n.len() > MAX_NAME_BYTES)
    {
        return Err(format!("name must be 1 to {MAX_NAME_BYTES} bytes"));
    }
    let label = string("label")?.filter(|l| !l.trim().is_empty());
    let mut explanation = string("explanation")?;
    if let Some(e) = &mut explanation
        && e.len() > MAX_EXPLANATION_BYTES
    {
        let mut cut = MAX_EXPLANATION_BYTES;
        while !e.is_char_boundary(cut) {
            cut -= 1;
        }
        e.truncate(cut);
        e.push('…');
    }
    if score.is_none() && label.is_none() && passed.is_none() {
        return Err("output has none of score, label, passed".into());
    }
    Ok(Answer {
        name,
        score,
        label,
        passed,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Converter;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    /// The spans of the OTel GenAI fixture (two traces, three chat calls, one failed).
    fn fixture_spans() -> Vec<SpanRecord> {
        let path = format!("{}/tests/fixtures/otel_genai.jsonl", env!("CARGO_MANIFEST_DIR"));
        let costs = std::sync::Arc::new(crate::cost::CostTable::bundled());
        let mut converter = Converter::new(Default::default(), Default::default(), Some(costs));
        let mut spans = Vec::new();
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let req: ExportTraceServiceRequest = serde_json::from_str(line).unwrap();
            converter.convert_traces(req, &mut spans, &mut Vec::new());
        }
        spans
    }

    #[test]
    fn the_payload_carries_the_call_its_context_and_no_credentials() {
        let spans = fixture_spans();
        let llm = |i: usize| {
            spans
                .iter()
                .filter(|s| {
                    s.sem
                        .as_ref()
                        .is_some_and(|m| m.kind == crate::semconv::types::Kind::Llm)
                })
                .nth(i)
                .unwrap()
                .clone()
        };
        let mut span = llm(1);
        // A credential-looking attribute must not reach the evaluator.
        let mut attrs = span.attributes.to_vec();
        attrs.push(crate::model::record::Attr {
            key: "http.request.header.authorization".into(),
            value: Value::Str("Bearer sk-secret".into()),
        });
        span.attributes = attrs.into_boxed_slice();
        let call = Call {
            span,
            documents: vec![Document {
                id: Some("kb-1".into()),
                content: "Orders ship in two days; db postgres://app:hunter2@db/x.".into(),
                score: Some(0.9),
            }],
            route: Some("/support/order-status".into()),
            tenant: None,
            reason: Reason::Sample,
        };
        let p = payload("Judge", &call);
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "attributes",
                "context",
                "cost_usd",
                "duration_ms",
                "error",
                "evaluator",
                "input",
                "kind",
                "model",
                "name",
                "output",
                "parent_span_id",
                "provider",
                "response_model",
                "route",
                "selected_by",
                "service",
                "span_id",
                "start_unix_nano",
                "status",
                "system",
                "tenant",
                "tokens",
                "tool_results",
                "trace_id"
            ]
        );
        assert_eq!(p["evaluator"], "Judge");
        assert_eq!(p["selected_by"], "sample");
        assert_eq!(p["kind"], "llm");
        assert_eq!(p["model"], "gpt-4o-mini");
        assert_eq!(p["route"], "/support/order-status");
        assert_eq!(p["error"], Json::Null);
        assert_eq!(p["span_id"].as_str().unwrap().len(), 16);
        assert_eq!(p["context"][0]["id"], "kb-1");
        assert!(p["tokens"]["input"].as_u64().unwrap() > 0);
        assert!(p["cost_usd"].as_f64().unwrap() > 0.0);
        // The final answer after a tool call: the tool's result is in the input and listed.
        let answer = p["output"][0]["content"].as_str().unwrap();
        assert!(!answer.is_empty());
        assert_eq!(p["output"][0]["role"], "assistant");
        assert!(p["input"].as_array().unwrap().iter().any(|m| m["role"] == "user"));
        assert_eq!(p["tool_results"].as_array().unwrap().len(), 1);
        let attrs = p["attributes"].as_object().unwrap();
        assert_eq!(attrs["http.request.header.authorization"], content::REDACTED);
        // Secret shapes in values are replaced wherever they are, the text around kept.
        assert_eq!(
            p["context"][0]["content"],
            "Orders ship in two days; db postgres://app:[redacted]@db/x."
        );
        assert!(!p.to_string().contains("hunter2"));
        assert_eq!(attrs["gen_ai.request.model"], "gpt-4o-mini");
        // Content is in input/output, not repeated in the attributes when long.
        assert!(
            attrs
                .values()
                .all(|v| v.as_str().is_none_or(|s| s.len() <= MAX_ATTRIBUTE_BYTES))
        );

        // The failed call says why.
        let failed = spans
            .iter()
            .find(|s| s.status == StatusCode::Error && s.sem.is_some())
            .unwrap();
        let p = payload(
            "Judge",
            &Call {
                span: failed.clone(),
                documents: Vec::new(),
                route: None,
                tenant: None,
                reason: Reason::Error,
            },
        );
        assert_eq!(p["status"], "error");
        assert!(
            p["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            p["error"]
        );
        assert_eq!(p["selected_by"], "error");
    }

    #[test]
    fn answers_are_read_strictly() {
        let ok = parse_answer(
            br#" {"score": 0.8, "label": "pass", "passed": true, "explanation": "fine", "extra": 1} "#,
        )
        .unwrap();
        assert_eq!(
            ok,
            Answer {
                name: None,
                score: Some(0.8),
                label: Some("pass".into()),
                passed: Some(true),
                explanation: Some("fine".into()),
            }
        );
        let named = parse_answer(br#"{"name": "Faithfulness", "score": 1}"#).unwrap();
        assert_eq!(
            (named.name.as_deref(), named.score),
            (Some("Faithfulness"), Some(1.0))
        );
        assert_eq!(
            parse_answer(br#"{"label": "hallucinated", "score": null}"#)
                .unwrap()
                .score,
            None
        );

        for (out, expect) in [
            (&b""[..], "no output"),
            (b"  \n", "no output"),
            (b"ok", "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (b"{}", "none of score, label, passed"),
            (br#"{"explanation": "only words"}"#, "none of score"),
            (br#"{"score": "high"}"#, "score is not a number"),
            (br#"{"passed": "yes"}"#, "passed is not true or false"),
            (br#"{"label": 3}"#, "label is not a string"),
            (br#"{"score": 1, "name": ""}"#, "name must be"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let err = parse_answer(out).unwrap_err();
            assert!(err.contains(expect), "{:?}: {err}", String::from_utf8_lossy(out));
        }
        let long = format!(
            r#"{{"score": 1, "explanation": "{}"}}"#,
            "é".repeat(MAX_EXPLANATION_BYTES)
        );
        let e = parse_answer(long.as_bytes()).unwrap().explanation.unwrap();
        assert!(e.len() <= MAX_EXPLANATION_BYTES + '…'.len_utf8() && e.ends_with('…'));
    }
}
