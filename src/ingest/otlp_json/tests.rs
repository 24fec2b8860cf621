//! The decoder against opentelemetry-proto's own `Deserialize` (the reference): on every
//! capture the project has, and on edge cases of what OTLP/JSON allows and forbids. Both ways
//! end in records: the reference's request through validation and conversion, the decoder's as
//! replay and the HTTP receiver take it. Where both accept a text, the records, counts and
//! converter state are equal, and so is the request itself ([`owned_traces`]); where one
//! refuses, so does the other (the messages differ: serde's name Rust types, ours say what
//! OTLP/JSON wanted).

use super::*;
use crate::cost::CostTable;
use crate::ingest::capture::{CaptureReader, Message};
use crate::model::convert::{self, ConvertStats, Rejections, request};
use crate::model::{ConvertLimits, Converter, LogRecord, SpanRecord};
use crate::semconv::{SemconvConfig, Verdict};
use opentelemetry_proto::tonic::common::v1::any_value;
use std::path::Path;
use std::sync::Arc;

fn converter() -> Converter {
    static COSTS: std::sync::OnceLock<Arc<CostTable>> = std::sync::OnceLock::new();
    let costs = COSTS.get_or_init(|| Arc::new(CostTable::bundled()));
    Converter::new(
        ConvertLimits::default(),
        Arc::new(SemconvConfig::default()),
        Some(costs.clone()),
    )
}

/// What a request turns into: counts, event time, records (spans or logs), verdicts, and the
/// converter's state afterwards (its interners' bytes and its truncation counts).
#[derive(Debug, PartialEq)]
struct Outcome<R> {
    received: usize,
    rejected: Rejections,
    event_time: Option<u64>,
    records: Vec<R>,
    verdicts: Vec<Verdict>,
    interner_bytes: usize,
    stats: ConvertStats,
}

impl<R> Outcome<R> {
    /// Converts what validation left with `convert`, as the receivers and replay do.
    fn of(
        received: usize,
        rejected: Rejections,
        event_time: Option<u64>,
        c: &mut Converter,
        convert: impl FnOnce(&mut Converter, &mut Vec<R>, &mut Vec<Verdict>),
    ) -> Self {
        let (mut records, mut verdicts) = (Vec::new(), Vec::new());
        if received > rejected.count as usize {
            convert(c, &mut records, &mut verdicts);
        }
        Outcome {
            received,
            rejected,
            event_time,
            records,
            verdicts,
            interner_bytes: c.interner_bytes(),
            stats: c.stats(),
        }
    }
}

/// The reference: opentelemetry-proto's `Deserialize`, validation, conversion. `Err` when refused.
fn reference(text: &[u8], c: &mut Converter) -> Result<Outcome<SpanRecord>, ()> {
    let mut req: ExportTraceServiceRequest = serde_json::from_slice(text).map_err(drop)?;
    let event_time = crate::replay::event_time(&Message::Traces(req.clone()));
    let received = convert::count_spans(&req);
    let rejected = convert::validate_traces(&mut req);
    Ok(Outcome::of(received, rejected, event_time, c, |c, out, v| {
        c.convert_traces_unevaluated(req, out, v)
    }))
}

/// The production path, as `ingest::convert_json` takes it: the decoder, then validation and
/// conversion of the borrowed request.
fn decoded(text: &[u8], c: &mut Converter) -> Result<Outcome<SpanRecord>, ()> {
    let mut req = traces(text).map_err(drop)?;
    let event_time = request::event_time(&req);
    let received = request::count_spans(&req);
    let rejected = convert::validate_traces_request(&mut req);
    Ok(Outcome::of(received, rejected, event_time, c, |c, out, v| {
        c.convert_traces_unevaluated(req, out, v)
    }))
}

/// Log requests the reference way.
fn logs_reference(text: &[u8], c: &mut Converter) -> Result<Outcome<LogRecord>, ()> {
    let mut req: ExportLogsServiceRequest = serde_json::from_slice(text).map_err(drop)?;
    let event_time = crate::replay::event_time(&Message::Logs(req.clone()));
    let received = convert::count_logs(&req);
    let rejected = convert::validate_logs(&mut req);
    Ok(Outcome::of(received, rejected, event_time, c, |c, out, v| {
        c.convert_logs(req, out, v)
    }))
}

/// Log requests the production way.
fn logs_decoded(text: &[u8], c: &mut Converter) -> Result<Outcome<LogRecord>, ()> {
    let mut req = logs(text).map_err(drop)?;
    let event_time = request::logs_event_time(&req);
    let received = request::count_logs(&req);
    let rejected = convert::validate_logs_request(&mut req);
    Ok(Outcome::of(received, rejected, event_time, c, |c, out, v| {
        c.convert_logs(req, out, v)
    }))
}

/// Where both accept a text, the decoder's request in opentelemetry-proto's types is the
/// reference's, field for field (what `--record` and `--forward` write from it).
fn same_request(text: &[u8]) {
    if let Ok(want) = serde_json::from_slice::<ExportTraceServiceRequest>(text) {
        assert!(
            owned_traces(text).unwrap() == want,
            "{}",
            String::from_utf8_lossy(text)
        );
    }
}

fn same_logs_request(text: &[u8]) {
    if let Ok(want) = serde_json::from_slice::<ExportLogsServiceRequest>(text) {
        assert_eq!(
            owned_logs(text).unwrap(),
            want,
            "{}",
            String::from_utf8_lossy(text)
        );
    }
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every OTLP/JSON capture in the repository: the fixtures and the demo capture.
pub(crate) fn captures() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/fixtures", "tests/fixtures/capture"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.push(root().join("demo/capture.jsonl.gz"));
    files
}

/// The lines of a capture (decompressed), blank ones left out.
pub(crate) fn lines(path: &Path) -> Vec<Vec<u8>> {
    let mut data = Vec::new();
    let file = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(file), &mut data).unwrap();
    } else {
        std::io::Read::read_to_end(&mut std::io::BufReader::new(file), &mut data).unwrap();
    }
    data.split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn every_capture_decodes_and_converts_as_with_the_reference() {
    let (mut trace_lines, mut log_lines) = (0, 0);
    for path in captures() {
        let name = path.display().to_string();
        // One converter per way and file, so their state is compared as it evolves.
        let (mut old, mut new) = (converter(), converter());
        for (n, line) in lines(&path).iter().enumerate() {
            let at = format!("{name}:{}", n + 1);
            if line.starts_with(b"{\"resourceSpans\"") {
                trace_lines += 1;
                let want = reference(line, &mut old);
                assert!(want.is_ok(), "{at}: the reference refuses it");
                assert_eq!(decoded(line, &mut new), want, "{at}");
                same_request(line);
            } else if line.starts_with(b"{\"resourceLogs\"") {
                log_lines += 1;
                let want = logs_reference(line, &mut old);
                assert!(want.is_ok(), "{at}: the reference refuses it");
                assert_eq!(logs_decoded(line, &mut new), want, "{at}");
                same_logs_request(line);
            }
        }
    }
    assert!(
        trace_lines > 360 && log_lines > 360,
        "{trace_lines} trace and {log_lines} log lines"
    );
}

/// A one-span request with `attr` as the span's only attribute value and `extra` added to the
/// span object.
fn span_with(value: &str, extra: &str) -> String {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc"}}}}]}},"scopeSpans":[{{"scope":{{"name":"s","version":"1"}},"spans":[{{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat","kind":3,"startTimeUnixNano":"1000","endTimeUnixNano":"2000","attributes":[{{"key":"a","value":{value}}}]{extra}}}]}}]}}]}}"#
    )
}

fn span_fields(fields: &str) -> String {
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{{fields}}}]}}]}}]}}"#)
}

/// Checks one text both ways; returns whether the reference accepted it.
fn same_both_ways(text: &str) -> bool {
    let old = reference(text.as_bytes(), &mut converter());
    let new = decoded(text.as_bytes(), &mut converter());
    assert_eq!(new, old, "{text}");
    same_request(text.as_bytes());
    old.is_ok()
}

#[test]
fn attribute_values_as_the_reference_reads_them() {
    let accepted = [
        r#"{"stringValue":"plain"}"#,
        r#"{"stringValue":"esc\"aped\\ \/ \b\f\n\r\t \u00e9 \u20ac \ud83d\ude00 \u0000"}"#,
        r#"{"stringValue":"raw UTF-8: é € 😀"}"#,
        r#"{"stringValue":null}"#,
        r#"{"stringValue":"a","stringValue":"b"}"#,
        r#"{"stringValue":"a","intValue":"5"}"#,
        r#"{"stringValue":"a","stringValue":null}"#,
        r#"{}"#,
        r#"null"#,
        r#"{"intValue":"42"}"#,
        r#"{"intValue":42}"#,
        r#"{"intValue":"-42"}"#,
        r#"{"intValue":-42}"#,
        r#"{"intValue":"+42"}"#,
        r#"{"intValue":"9223372036854775807"}"#,
        r#"{"intValue":9223372036854775807}"#,
        r#"{"intValue":-9223372036854775808}"#,
        r#"{"intValue":"-9223372036854775808"}"#,
        r#"{"intValue":"\u0034\u0032"}"#,
        r#"{"intValue":0}"#,
        r#"{"doubleValue":1.5}"#,
        r#"{"doubleValue":5}"#,
        r#"{"doubleValue":-5}"#,
        r#"{"doubleValue":-0}"#,
        r#"{"doubleValue":-0.0}"#,
        r#"{"doubleValue":0.1}"#,
        r#"{"doubleValue":1E+2}"#,
        r#"{"doubleValue":1e-2}"#,
        r#"{"doubleValue":1.7976931348623157e308}"#,
        r#"{"doubleValue":2.2250738585072014e-308}"#,
        r#"{"doubleValue":4.9e-324}"#,
        r#"{"doubleValue":1e-400}"#,
        r#"{"doubleValue":9007199254740993}"#,
        r#"{"doubleValue":18446744073709551616}"#,
        r#"{"doubleValue":123456789012345678901234567890.123456789e-5}"#,
        r#"{"doubleValue":0.30000000000000004}"#,
        r#"{"boolValue":true}"#,
        r#"{"boolValue":false}"#,
        r#"{"bytesValue":"aGVsbG8="}"#,
        r#"{"bytesValue":""}"#,
        r#"{"arrayValue":{"values":[]}}"#,
        r#"{"arrayValue":{"values":[{"stringValue":"x"},{},{"intValue":1},{"arrayValue":{"values":[{"boolValue":true}]}}]}}"#,
        r#"{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":2.5}},{"key":"e"},{"key":"n","value":null}]}}"#,
        r#"{"arrayValue":null}"#,
        r#"{"arrayValue":{"values":[],"other":1}}"#,
        r#"{"kvlistValue":{"values":[{"key":"k","other":[1,{"x":"y"}]}]}}"#,
        r#"{"stringValue":"x","unknown":{"deep":[1,2,{"a":null}]}}"#,
        r#"{"stringValueStrindex":3}"#,
        r#" { "stringValue" : "spaced" } "#,
        r#"{"string\u0056alue":"escaped key"}"#,
    ];
    for v in accepted {
        assert!(same_both_ways(&span_with(v, "")), "the reference refuses {v}");
    }
    let refused = [
        r#"{"stringValue":5}"#,
        r#"{"stringValue":"lone \ud83d surrogate"}"#,
        r#"{"stringValue":"lone \ude00 surrogate"}"#,
        r#"{"stringValue":"bad \x escape"}"#,
        "{\"stringValue\":\"raw\tcontrol\"}",
        r#"{"intValue":"9223372036854775808"}"#,
        r#"{"intValue":9223372036854775808}"#,
        r#"{"intValue":1.0}"#,
        r#"{"intValue":"1.0"}"#,
        r#"{"intValue":""}"#,
        r#"{"intValue":" 42"}"#,
        r#"{"intValue":-0}"#,
        r#"{"intValue":true}"#,
        r#"{"doubleValue":1e309}"#,
        r#"{"doubleValue":01}"#,
        r#"{"doubleValue":1.}"#,
        r#"{"doubleValue":.5}"#,
        r#"{"doubleValue":"nan"}"#,
        r#"{"doubleValue":" 1.5"}"#,
        r#"{"doubleValue":"1e999"}"#,
        r#"{"doubleValue":true}"#,
        r#"{"boolValue":"true"}"#,
        r#"{"boolValue":1}"#,
        r#"{"bytesValue":"aGVsbG8"}"#,
        r#"{"bytesValue":"not base64!"}"#,
        r#"{"arrayValue":{}}"#,
        r#"{"arrayValue":{"values":null}}"#,
        r#"{"arrayValue":{"values":[],"values":[]}}"#,
        r#"{"arrayValue":{"values":[null]}}"#,
        r#"{"kvlistValue":{"values":[{"value":{"intValue":1}}]}}"#,
        r#"{"kvlistValue":{"values":[{"key":"k","key":"k"}]}}"#,
        r#"{"stringValue":"x","unknown":1e999}"#,
        r#""not an object""#,
        r#"[]"#,
        r#"{"stringValue":"x",}"#,
    ];
    for v in refused {
        assert!(!same_both_ways(&span_with(v, "")), "the reference accepts {v}");
    }
}

#[test]
fn span_fields_as_the_reference_reads_them() {
    let ids = r#""traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708""#;
    let accepted = [
        format!(r#"{ids},"name":"n""#),
        format!(r#"{ids},"startTimeUnixNano":1000,"endTimeUnixNano":"2000""#),
        format!(r#"{ids},"startTimeUnixNano":"+1000""#),
        format!(r#"{ids},"startTimeUnixNano":"18446744073709551615""#),
        format!(r#"{ids},"startTimeUnixNano":18446744073709551615"#),
        format!(r#"{ids},"startTimeUnixNano":"\u0031""#),
        format!(r#"{ids},"kind":-1,"flags":4294967295"#),
        format!(r#"{ids},"kind":2147483647"#),
        format!(r#"{ids},"status":null"#),
        format!(r#"{ids},"status":{{}}"#),
        format!(r#"{ids},"status":{{"code":2,"message":"boom \"quoted\""}}"#),
        format!(r#"{ids},"parentSpanId":"""#),
        format!(r#"{ids},"parentSpanId":"0000000000000000""#),
        format!(r#"{ids},"parentSpanId":"0A0B0C0D0E0F0102""#),
        format!(r#"{ids},"parentSpanId":"0x0a0b0c0d0e0f0102""#),
        format!(r#"{ids},"parentSpanId":"0a0b""#),
        format!(
            r#"{ids},"traceState":"k=v","droppedAttributesCount":2,"droppedEventsCount":0,"droppedLinksCount":1"#
        ),
        format!(r#"{ids},"trace_id":"ffffffffffffffffffffffffffffffff","span_name":"snake case is unknown""#),
        format!(r#"{ids},"unknownField":{{"nested":[1,"two",null,1e999]}}"#),
        format!(r#"{ids},"unknownField":"\u00e9""#),
        format!(
            r#"{ids},"events":[{{"timeUnixNano":"5","name":"e","attributes":[{{"key":"k","value":{{"boolValue":true}}}}]}}]"#
        ),
        format!(
            r#"{ids},"links":[{{"traceId":"0102030405060708090a0b0c0d0e0f11","spanId":"0102030405060709","flags":1}}]"#
        ),
        format!(r#"{ids},"links":[{{"traceId":"00","spanId":"0102030405060709"}}]"#),
        r#""spanId":"0102030405060708""#.to_string(),
        r#""traceId":"0102030405060708090a0b0c0d0e0f10""#.to_string(),
        r#""traceId":"00000000000000000000000000000000","spanId":"0102030405060708""#.to_string(),
        r#""traceId":"0102030405060708090a0b0c0d0e0f","spanId":"0102030405060708""#.to_string(),
        r#""traceId":"0102030405060708090a0b0c0d0e0f1011121314","spanId":"0102030405060708""#.to_string(),
        format!(r#"{ids},"attributes":[]"#),
    ];
    for f in &accepted {
        assert!(same_both_ways(&span_fields(f)), "the reference refuses {f}");
    }
    let refused = [
        format!(r#"{ids},"name":null"#),
        format!(r#"{ids},"name":"a","name":"b""#),
        format!(r#"{ids},"kind":"SPAN_KIND_CLIENT""#),
        format!(r#"{ids},"kind":2147483648"#),
        format!(r#"{ids},"kind":1.0"#),
        format!(r#"{ids},"kind":null"#),
        format!(r#"{ids},"flags":-1"#),
        format!(r#"{ids},"flags":4294967296"#),
        format!(r#"{ids},"flags":"1""#),
        format!(r#"{ids},"startTimeUnixNano":-1"#),
        format!(r#"{ids},"startTimeUnixNano":1.5"#),
        format!(r#"{ids},"startTimeUnixNano":"1e3""#),
        format!(r#"{ids},"startTimeUnixNano":null"#),
        format!(r#"{ids},"startTimeUnixNano":18446744073709551616"#),
        format!(r#"{ids},"startTimeUnixNano":"18446744073709551616""#),
        format!(r#"{ids},"attributes":null"#),
        format!(r#"{ids},"attributes":[{{"value":{{"stringValue":"no key"}}}}]"#),
        format!(r#"{ids},"parentSpanId":"0a0""#),
        format!(r#"{ids},"parentSpanId":"zz0b0c0d0e0f0102""#),
        format!(r#"{ids},"parentSpanId":null"#),
        format!(r#"{ids},"unknownField":[1,2"#),
        format!(r#"{ids},"status":{{"code":"2"}}"#),
        r#""traceId":"0102030405060708090a0b0c0d0e0f10","traceId":"0102030405060708090a0b0c0d0e0f10""#
            .to_string(),
    ];
    for f in &refused {
        assert!(!same_both_ways(&span_fields(f)), "the reference accepts {f}");
    }
}

#[test]
fn requests_and_envelopes_as_the_reference_reads_them() {
    let accepted = [
        r#"{"resourceSpans":[]}"#,
        r#"{"resourceSpans":[{}]}"#,
        r#"{"resourceSpans":[{"resource":null,"scopeSpans":[{"scope":null,"spans":[]}]}]}"#,
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}],"schemaUrl":"u"}],"extra":true}"#,
        r#"{"resourceSpans":[{"resource":{"attributes":[],"droppedAttributesCount":1,"entityRefs":[]}}]}"#,
        r#"{"resourceSpans":[{"resource":{"entityRefs":[{"schemaUrl":"","type":"service","idKeys":["service.name"],"descriptionKeys":[]}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}]}"#,
        r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"n","version":"","attributes":[{"key":"k"}],"droppedAttributesCount":0},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}]}"#,
        "{\"resourceSpans\" :\n[ { \"scopeSpans\" : [ ] } ]\r\n}\t ",
        r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"project_name","value":{"stringValue":"traceai"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a"},{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00","name":"bad id"}]},{"scope":{"name":"second"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060709","startTimeUnixNano":"7"}]}]},{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102030405060708","name":"all rejected"}]}]}]}"#,
    ];
    for t in accepted {
        assert!(same_both_ways(t), "the reference refuses {t}");
    }
    let refused = [
        r#"{"resourceSpans":null}"#,
        r#"{"resourceSpans":[],"resourceSpans":[]}"#,
        r#"{"resourceSpans":[{"scopeSpans":null}]}"#,
        r#"{"resourceSpans":[{"resource":{"entityRefs":[{"type":"service"}]}}]}"#,
        r#"{"resourceSpans":[{"resource":{"entityRefs":null}}]}"#,
        r#"{"resourceSpans":[]} trailing"#,
        r#"{"resourceSpans":[],}"#,
        r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":null}}]}]}"#,
    ];
    for t in refused {
        assert!(!same_both_ways(t), "the reference accepts {t}");
    }
}

#[test]
fn strings_must_be_utf8_where_the_reference_reads_them() {
    let bad = "\u{e9}".as_bytes()[..1].to_vec(); // a lone lead byte
    let with = |prefix: &str, suffix: &str| {
        let mut t = prefix.as_bytes().to_vec();
        t.extend_from_slice(&bad);
        t.extend_from_slice(suffix.as_bytes());
        t
    };
    let ids = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","#;
    // Read as a string: refused. Skipped as an unknown span field: accepted, as serde derive
    // skips without looking. Inside an AnyValue, even an unknown key is read: refused.
    let cases = [
        (with(&format!(r#"{ids}"name":""#), r#""}]}]}]}"#), false),
        (with(&format!(r#"{ids}"skipped":""#), r#""}]}]}]}"#), true),
        (
            with(
                &format!(r#"{ids}"attributes":[{{"key":"k","value":{{"unknown":""#),
                r#""}}]}]}]}]}"#,
            ),
            false,
        ),
    ];
    for (text, ok) in cases {
        let old = reference(&text, &mut converter());
        assert_eq!(old.is_ok(), ok, "{}", String::from_utf8_lossy(&text));
        assert_eq!(decoded(&text, &mut converter()), old);
    }
}

#[test]
fn nesting_is_limited_where_the_reference_limits_it() {
    // Arrays in arrays: serde_json's limit of 128 levels counts from the top of the request.
    for depth in [10, 40, 55, 58, 59, 60, 100] {
        let mut v = r#"{"stringValue":"leaf"}"#.to_string();
        for _ in 0..depth {
            v = format!(r#"{{"arrayValue":{{"values":[{v}]}}}}"#);
        }
        same_both_ways(&span_with(&v, ""));
    }
    // An unknown span field is skipped without a limit; in an AnyValue it is read, with one.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(same_both_ways(&span_with(
        r#"{"stringValue":"x"}"#,
        &format!(r#","unknown":{deep}"#)
    )));
    assert!(!same_both_ways(&span_with(
        &format!(r#"{{"unknown":{deep}}}"#),
        ""
    )));
}

#[test]
fn non_finite_doubles_are_read_as_proto3_json_writes_them() {
    // The one difference from the reference, which refused these lines: OTLP/JSON (proto3 JSON)
    // writes NaN and the infinities as strings, and so does `--record`.
    for (text, want) in [
        ("\"NaN\"", f64::NAN),
        ("\"Infinity\"", f64::INFINITY),
        ("\"-Infinity\"", f64::NEG_INFINITY),
        ("\"1.5\"", 1.5),
        ("\"-0\"", -0.0),
    ] {
        let line = span_with(&format!(r#"{{"doubleValue":{text}}}"#), "");
        assert!(reference(line.as_bytes(), &mut converter()).is_err(), "{line}");
        let outcome = decoded(line.as_bytes(), &mut converter()).unwrap();
        let got = outcome.records[0]
            .attr("a")
            .and_then(crate::model::Value::as_f64)
            .unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        let Some(any_value::Value::DoubleValue(d)) =
            owned_traces(line.as_bytes()).unwrap().resource_spans[0].scope_spans[0].spans[0].attributes[0]
                .value
                .clone()
                .and_then(|v| v.value)
        else {
            panic!("{text}")
        };
        assert_eq!(d.to_bits(), want.to_bits(), "{text}");
    }
    // What --record writes reads back, through the capture reader too.
    let mut t = ExportTraceServiceRequest::default();
    let line = span_with(r#"{"doubleValue":"NaN"}"#, "");
    t.resource_spans = owned_traces(line.as_bytes()).unwrap().resource_spans;
    let (recorded, _) = crate::ingest::record::Recorder::encode_traces(&t);
    assert!(recorded.contains(r#""doubleValue":"NaN""#), "{recorded}");
    let reader =
        CaptureReader::from_reader("nan.jsonl", Box::new(std::io::Cursor::new(recorded)), None).unwrap();
    let records: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 1);
    // Logs take the same rules.
    let log = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"doubleValue":"-Infinity"}}]}]}]}"#;
    let body = owned_logs(log.as_bytes()).unwrap().resource_logs[0].scope_logs[0].log_records[0]
        .body
        .clone();
    assert_eq!(
        body.and_then(|b| b.value),
        Some(any_value::Value::DoubleValue(f64::NEG_INFINITY))
    );
}

#[test]
fn log_requests_as_the_reference_reads_them() {
    let accepted = [
        r#"{"resourceLogs":[]}"#,
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"5","observedTimeUnixNano":6,"severityNumber":9,"severityText":"INFO","body":{"kvlistValue":{"values":[{"key":"k","value":{"intValue":"3"}}]}},"attributes":[{"key":"event.name","value":{"stringValue":"e"}}],"droppedAttributesCount":0,"flags":1,"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","eventName":"gen_ai.evaluation.result"}]}]}]}"#,
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":null,"traceId":"","spanId":"","unknown":[1]}]}]}]}"#,
    ];
    for t in accepted {
        assert!(logs_reference(t.as_bytes(), &mut converter()).is_ok(), "{t}");
        same_logs_request(t.as_bytes());
        assert_eq!(
            logs_decoded(t.as_bytes(), &mut converter()),
            logs_reference(t.as_bytes(), &mut converter()),
            "{t}"
        );
    }
    let refused = [
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"INFO"}]}]}]}"#,
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#,
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":1.5}}]}]}]}"#,
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"a","eventName":"b"}]}]}]}"#,
    ];
    for t in refused {
        assert!(logs_reference(t.as_bytes(), &mut converter()).is_err(), "{t}");
        assert!(logs(t.as_bytes()).is_err(), "{t}");
    }
}

#[test]
fn errors_say_what_and_where() {
    // JSON of the wrong shape: where the decoder stopped, and what it wanted.
    let text = span_with(r#"{"intValue":1.5}"#, "");
    let e = traces(text.as_bytes()).unwrap_err();
    assert!(!e.is_syntax() && e.line() == 1, "{e}");
    let at = text.find("1.5").unwrap();
    assert!(
        e.to_string().ends_with(&format!("at line 1 column {}", at + 2)),
        "{e}"
    );
    assert!(e.to_string().contains("floating point"), "{e}");
    let e = traces(span_fields("\"name\":\"a\",\n\"name\":\"b\"").as_bytes()).unwrap_err();
    assert!(e.to_string().starts_with("duplicate field at line 2"), "{e}");
    // Not JSON: serde_json's own message and classification (a cut line ends early).
    let cut = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"cut"#;
    let want = serde_json::from_slice::<serde::de::IgnoredAny>(cut.as_bytes()).unwrap_err();
    let e = traces(cut.as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), want.to_string());
    assert!(e.is_syntax() && e.is_eof());
    let e = traces(br#"{"resourceSpans":[]} trailing"#).unwrap_err();
    assert!(e.is_syntax() && !e.is_eof(), "{e}");
}

#[test]
fn ids_decode_as_const_hex_decodes_them() {
    for s in [
        "",
        "00",
        "0x",
        "0X0a",
        "0a0B",
        "0x0x",
        "abc",
        "zz",
        &"ab".repeat(16),
        &"ab".repeat(17),
    ] {
        let text = span_fields(&format!(r#""traceId":"{s}""#));
        let want = const_hex::decode(s).ok();
        let got = traces(text.as_bytes()).ok().map(|r| {
            r.resource_spans[0].scope_spans[0].spans[0]
                .trace_id
                .as_bytes()
                .to_vec()
        });
        assert_eq!(got, want, "{s:?}");
    }
}

#[test]
fn messages_written_as_arrays_are_refused() {
    // The one narrowing: serde derive also reads a struct from an array of its fields in order,
    // which no OTLP/JSON writer produces.
    let ids = r#""traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708""#;
    let text = span_fields(&format!(r#"{ids},"status":["positional message",2]"#));
    assert!(reference(text.as_bytes(), &mut converter()).is_ok());
    assert!(traces(text.as_bytes()).is_err());
}

/// A small deterministic generator (xorshift), so the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One random edit: a byte deleted, replaced or inserted (from a set that makes JSON and OTLP
/// interesting), or a stretch repeated (duplicate fields and values).
fn mutate(text: &[u8], rng: &mut Rng) -> Vec<u8> {
    const PIECES: [&[u8]; 24] = [
        b"\"", b"\\", b"{", b"}", b"[", b"]", b",", b":", b"0", b"9", b"-", b".", b"e", b"null", b"true",
        b" ", b"\n", b"\\u00e9", b"\\ud83d", b"1e999", b"\"NaN\"", b"x", b"\xc3", b"\t",
    ];
    let mut t = text.to_vec();
    let at = rng.below(t.len());
    match rng.below(4) {
        0 => {
            t.remove(at);
        }
        1 => {
            let piece = PIECES[rng.below(PIECES.len())];
            t.splice(at..at + 1, piece.iter().copied());
        }
        2 => {
            let piece = PIECES[rng.below(PIECES.len())];
            t.splice(at..at, piece.iter().copied());
        }
        _ => {
            let len = 1 + rng.below(40.min(t.len() - at));
            let copy = t[at..at + len].to_vec();
            t.splice(at..at, copy);
        }
    }
    t
}

#[test]
fn random_edits_of_real_lines_read_as_with_the_reference() {
    let mut samples = vec![
        span_with(
            r#"{"kvlistValue":{"values":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":"-7"},{"doubleValue":2.5e-3},{"boolValue":false},{"bytesValue":"aGk="}]}}},{"key":"s","value":{"stringValue":"caf\u00e9 \"q\""}}]}}"#,
            r#","parentSpanId":"0a0b0c0d0e0f0102","status":{"code":2,"message":"m"},"events":[{"timeUnixNano":"3","name":"e"}],"links":[{"traceId":"0102030405060708090a0b0c0d0e0f11","spanId":"0102030405060709"}],"flags":256,"traceState":"","droppedAttributesCount":0"#,
        )
        .into_bytes(),
    ];
    let mut fixture = lines(&root().join("tests/fixtures/otel_genai_eval.jsonl"));
    fixture.sort_by_key(Vec::len);
    samples.extend(fixture.into_iter().take(1));
    // FUZZ_N (edits per sample) and FUZZ_SEED run it longer or differently.
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok());
    let mut rng = Rng(seed.unwrap_or(0x5eed_1234_abcd_0001));
    let (mut accepted, mut refused) = (0, 0);
    for sample in &samples {
        for i in 0..std::env::var("FUZZ_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1200)
        {
            let mut text = mutate(sample, &mut rng);
            if i % 3 == 0 {
                text = mutate(&text, &mut rng);
            }
            let old = reference(&text, &mut converter());
            let new = decoded(&text, &mut converter());
            match (&old, &new) {
                // The one intended difference: non-finite doubles (and numbers) in strings.
                (Err(_), Ok(_)) if String::from_utf8_lossy(&text).contains("\"doubleValue\":\"") => {}
                _ => assert_eq!(new, old, "{}", String::from_utf8_lossy(&text)),
            }
            if old.is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Enough of both kinds to mean something.
    assert!(
        accepted > 500 && refused > 1000,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn random_edits_of_log_lines_read_as_with_the_reference() {
    let mut samples = lines(&root().join("tests/fixtures/otel_genai_eval.logs.jsonl"));
    samples.sort_by_key(Vec::len);
    samples.truncate(1);
    samples.push(
        br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"5","observedTimeUnixNano":6,"severityNumber":9,"severityText":"INFO","body":{"kvlistValue":{"values":[{"key":"k","value":{"intValue":"3"}},{"key":"d","value":{"doubleValue":0.5}}]}},"attributes":[{"key":"event.name","value":{"stringValue":"e"}}],"flags":1,"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","eventName":"x"}]}]}]}"#
            .to_vec(),
    );
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok());
    let mut rng = Rng(seed.unwrap_or(0x5eed_1234_abcd_0002));
    let n = std::env::var("FUZZ_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1200);
    for sample in &samples {
        for _ in 0..n {
            let text = mutate(sample, &mut rng);
            let old = logs_reference(&text, &mut converter());
            let new = logs_decoded(&text, &mut converter());
            match (&old, &new) {
                (Err(_), Ok(_)) if String::from_utf8_lossy(&text).contains("\"doubleValue\":\"") => {}
                _ => assert_eq!(new, old, "{}", String::from_utf8_lossy(&text)),
            }
        }
    }
}

/// The structural objects of a JSON text: its `{` outside strings.
fn objects_in(text: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (0, false, false);
    for &b in text {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'{') => n += 1,
            _ => {}
        }
    }
    n
}

#[test]
fn a_read_within_a_number_of_objects_stops_past_it() {
    let mut read = 0;
    for path in captures() {
        for line in lines(&path) {
            let n = objects_in(&line);
            let (all, short) = if line.starts_with(b"{\"resourceSpans\"") {
                (
                    traces_within(&line, n).is_ok(),
                    traces_within(&line, n - 1).is_err(),
                )
            } else if line.starts_with(b"{\"resourceLogs\"") {
                (logs_within(&line, n).is_ok(), logs_within(&line, n - 1).is_err())
            } else {
                continue;
            };
            assert!(all, "{n} objects must do: {}", String::from_utf8_lossy(&line));
            assert!(short, "{} objects must not", n - 1);
            read += 1;
        }
    }
    assert!(read > 700, "{read}");
    // Objects inside strings are not objects; a request of a thousand empty spans is 1,003.
    let spans = vec!["{}"; 1000].join(",");
    let text =
        format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}],"schemaUrl":"{{{{"}}]}}]}}"#);
    assert_eq!(objects_in(text.as_bytes()), 1003);
    assert!(traces_within(text.as_bytes(), 1003).is_ok());
    assert!(traces_within(text.as_bytes(), 1002).is_err());
}

/// A request whose one span has these attribute `KeyValue`s, as written.
fn span_attributes(kvs: &[&str]) -> String {
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat","attributes":[{}]}}]}}]}}]}}"#,
        kvs.join(",")
    )
}

#[test]
fn key_values_written_compactly_read_as_those_written_any_other_way() {
    // The exporters' compact form takes a shorter path; it and each of its neighbours (other
    // variants, order, spacing, escapes, nulls, duplicates, bad values, cut text) read as the
    // reference reads them, alone and next to a compact one.
    let kvs = [
        r#"{"key":"k","value":{"stringValue":"v"}}"#,
        r#"{"key":"k","value":{"stringValue":""}}"#,
        r#"{"key":"","value":{"stringValue":"v"}}"#,
        r#"{"key":"k","value":{"stringValue":"esc\"aped \u00e9 \ud83d\ude00"}}"#,
        r#"{"key":"k\u00e9\n","value":{"stringValue":"é"}}"#,
        r#"{"key":"k","value":{"stringValue":"\ud800"}}"#,
        r#"{"key":"k","value":{"stringValue":"raw	tab"}}"#,
        r#"{"key":"k","value":{"intValue":"42"}}"#,
        r#"{"key":"k","value":{"intValue":-42}}"#,
        r#"{"key":"k","value":{"intValue":"4x"}}"#,
        r#"{"key":"k","value":{"intValue":4.5}}"#,
        r#"{"key":"k","value":{"intValue":null}}"#,
        r#"{"key":"k","value":{"boolValue":true}}"#,
        r#"{"key":"k","value":{"boolValue":false}}"#,
        r#"{"key":"k","value":{"boolValue":"true"}}"#,
        r#"{"key":"k","value":{"doubleValue":1.5e3}}"#,
        // (NaN and the infinities as strings: `non_finite_doubles_are_read_as_proto3_json_writes_them`.)
        r#"{"key":"k","value":{"doubleValue":"1.5x"}}"#,
        r#"{"key":"k","value":{"doubleValue":-0.25}}"#,
        r#"{"key":"k","value":{"doubleValue":1e999}}"#,
        r#"{"key":"k","value":{"bytesValue":"AAE="}}"#,
        r#"{"key":"k","value":{"stringValue":null}}"#,
        r#"{"key":"k","value":{"stringValue":"a","intValue":"1"}}"#,
        r#"{"key":"k","value":{"stringValue":"v","unknown":1}}"#,
        r#"{"key":"k","value":{"stringValue":"v"},"keyStrindex":3}"#,
        r#"{"key":"k","value":{"stringValue":"v"},"key":"again"}"#,
        r#"{"key":"k","value":{"stringValue":"v"},"value":null}"#,
        r#"{"key":"k","value":{"stringValue":"v"} }"#,
        r#"{"key": "k","value":{"stringValue":"v"}}"#,
        r#"{"key":"k","value":{ "stringValue":"v"}}"#,
        r#"{"value":{"stringValue":"v"},"key":"k"}"#,
        r#"{"key":"k","value":null}"#,
        r#"{"key":"k","value":{}}"#,
        r#"{"key":"k"}"#,
        r#"{"key":null,"value":{"stringValue":"v"}}"#,
        r#"{"key":"k","value":{"arrayValue":{"values":[{"stringValue":"v"}]}}}"#,
        r#"{"key":"k","value":{"kvlistValue":{"values":[{"key":"in","value":{"intValue":"1"}}]}}}"#,
        r#"{"key":"k","value":{"stringValue":"v"}"#,
        r#"{"key":"k","value":{"stringValue":"v"}}}"#,
        r#"{"key":"k","value":{"stringValue":"v}}"#,
        r#"{"key":"k","value":{"stringValue""#,
    ];
    let (mut accepted, mut refused) = (0, 0);
    for kv in kvs {
        for text in [span_attributes(&[kv]), span_attributes(&[kvs[0], kv, kvs[7]])] {
            if same_both_ways(&text) {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(accepted > 30 && refused > 20, "{accepted} {refused}");
    // Nested key-values near the nesting limit: the compact read stops where the general one
    // would, on either side of it.
    // A list level is four deep and an array level three: with up to three arrays around the
    // lists, the limit falls on the innermost key-value's object, on its value's and between.
    let mut limit = (false, false);
    for arrays in 0..4 {
        for lists in 20..40 {
            let mut v = r#"{"stringValue":"leaf"}"#.to_string();
            for _ in 0..lists {
                v = format!(r#"{{"kvlistValue":{{"values":[{{"key":"k","value":{v}}}]}}}}"#);
            }
            for _ in 0..arrays {
                v = format!(r#"{{"arrayValue":{{"values":[{v}]}}}}"#);
            }
            let ok = same_both_ways(&span_attributes(&[&format!(r#"{{"key":"top","value":{v}}}"#)]));
            limit = (limit.0 | ok, limit.1 | !ok);
        }
    }
    assert_eq!(limit, (true, true));
    // Within a number of objects: a compact key-value is two, taken only when both fit.
    let text = span_attributes(&[kvs[0], kvs[7]]);
    let n = objects_in(text.as_bytes());
    assert!(traces_within(text.as_bytes(), n).is_ok());
    for short in [n - 1, n - 2, n - 3] {
        assert!(traces_within(text.as_bytes(), short).is_err(), "{short}");
    }
}
