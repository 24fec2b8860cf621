//! The fast path against prost followed by the move into the request types (the reference):
//! on every capture the project has (encoded as exporters send them), on edge cases of the
//! wire format, and on random edits of encoded requests. Where the fast path reads bytes,
//! prost reads them to the same request; where prost refuses them, the fast path gives up.

use super::*;
use crate::ingest::otlp_json::{self, tests as json_tests};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::encoding::{WireType, encode_key, encode_varint};

/// The reference's request, or `None` where prost refuses the bytes. Compared through `Debug`
/// so that a NaN double equals itself.
fn prost_traces(b: &[u8]) -> Option<String> {
    let req = ExportTraceServiceRequest::decode(b).ok()?;
    Some(format!("{:?}", TracesRequest::from(req)))
}

fn prost_logs(b: &[u8]) -> Option<String> {
    let req = ExportLogsServiceRequest::decode(b).ok()?;
    Some(format!("{:?}", LogsRequest::from(req)))
}

/// Whether the fast path read `b`; where it did, prost reads the same request.
fn agrees(b: &[u8]) -> bool {
    let Some(got) = traces(b) else { return false };
    assert_eq!(Some(format!("{got:?}")), prost_traces(b), "{b:?}");
    true
}

fn logs_agree(b: &[u8]) -> bool {
    let Some(got) = logs(b) else { return false };
    assert_eq!(Some(format!("{got:?}")), prost_logs(b), "{b:?}");
    true
}

/// Every capture's requests, encoded as an exporter sends them: (traces, logs).
fn encoded_captures() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut traces, mut logs) = (Vec::new(), Vec::new());
    for path in json_tests::captures() {
        for line in json_tests::lines(&path) {
            if line.starts_with(b"{\"resourceSpans\"") {
                traces.push(otlp_json::owned_traces(&line).unwrap().encode_to_vec());
            } else if line.starts_with(b"{\"resourceLogs\"") {
                logs.push(otlp_json::owned_logs(&line).unwrap().encode_to_vec());
            }
        }
    }
    (traces, logs)
}

#[test]
fn every_capture_reads_as_prost_reads_it() {
    let (traces, logs) = encoded_captures();
    assert!(
        traces.len() > 360 && logs.len() > 360,
        "{} {}",
        traces.len(),
        logs.len()
    );
    for (n, b) in traces.iter().enumerate() {
        assert!(agrees(b), "trace request {n} not read");
    }
    for (n, b) in logs.iter().enumerate() {
        assert!(logs_agree(b), "log request {n} not read");
    }
}

/// What the read counts for `b` against the decode budget's walk of it, and the allowance
/// stopping it at exactly that count; `None` where the read leaves `b` to prost.
fn counts_as_the_walk(b: &[u8], signal: crate::ingest::bound::Signal) -> Option<u64> {
    use crate::ingest::bound::{Signal, wire};
    // Each signal's read, down to what it counted.
    let read = |allowance: u64| -> Read<()> {
        fn counted<T>(r: Read<T>) -> Read<()> {
            match r {
                Read::Done(_, c) => Read::Done((), c),
                Read::Over => Read::Over,
                Read::Prost => Read::Prost,
            }
        }
        match signal {
            Signal::Traces => counted(traces_within(b, allowance)),
            _ => counted(logs_within(b, allowance)),
        }
    };
    let Read::Done((), counted) = read(u64::MAX) else {
        return None;
    };
    assert_eq!(counted, wire::walk(signal, b).unwrap().bytes, "{b:?}");
    assert!(
        matches!(read(counted), Read::Done((), c) if c == counted),
        "an allowance of exactly the count must do: {b:?}"
    );
    if let Some(less) = counted.checked_sub(1) {
        assert!(
            matches!(read(less), Read::Over),
            "one byte less must stop the read: {b:?}"
        );
    }
    Some(counted)
}

#[test]
fn the_read_counts_what_the_walk_counts_and_stops_at_the_allowance() {
    use crate::ingest::bound::Signal;
    let (traces, logs) = encoded_captures();
    for b in &traces {
        assert!(counts_as_the_walk(b, Signal::Traces).is_some_and(|c| c > 0));
    }
    for b in &logs {
        assert!(counts_as_the_walk(b, Signal::Logs).is_some_and(|c| c > 0));
    }
    // Random edits the read takes, and the entity refs and arrays the captures lack.
    let mut rng = Rng(0xa110);
    let mut taken = 0;
    for (k, b) in traces
        .iter()
        .chain(&logs)
        .enumerate()
        .filter(|(k, _)| k % 11 == 0)
    {
        let signal = if k < traces.len() {
            Signal::Traces
        } else {
            Signal::Logs
        };
        for _ in 0..30 {
            taken += usize::from(counts_as_the_walk(&edit(b, &mut rng), signal).is_some());
        }
    }
    assert!(taken > 100, "{taken}");
    let mut entity = Vec::new();
    bytes_field(&mut entity, 3, b"service.name");
    bytes_field(&mut entity, 3, b"host.name");
    bytes_field(&mut entity, 4, b"service.version");
    let mut entities = Vec::new();
    bytes_field(&mut entities, 3, &entity);
    let mut resource = Vec::new();
    bytes_field(&mut resource, 1, &entities);
    let mut values = Vec::new();
    for v in [&b"\x0a\x01a"[..], b"\x0a\x01b", b"\x10\x01"] {
        bytes_field(&mut values, 1, v);
    }
    let mut array = Vec::new();
    bytes_field(&mut array, 5, &values);
    let mut span = span_fields();
    span.extend(attribute("list", &array));
    let req = request(&resource, &span);
    use crate::ingest::bound::wire::sizes;
    let counted = counts_as_the_walk(&req, Signal::Traces).unwrap();
    let expected = sizes::RESOURCE_SPANS
        + sizes::ENTITY_REF
        + 3 * sizes::STRING
        + sizes::SCOPE_SPANS
        + sizes::SPAN
        + sizes::KEY_VALUE
        + 3 * sizes::ANY_VALUE;
    assert_eq!(counted, expected as u64);
}

/// A seeded generator for the random edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }
}

/// `b` with one random edit: a byte changed, bytes cut off or out, a byte put in, or a range
/// repeated (a field twice).
fn edit(b: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = b.to_vec();
    let at = rng.below(out.len());
    match rng.below(5) {
        0 => out[at] = rng.next() as u8,
        1 => out.truncate(at),
        2 => {
            let n = 1 + rng.below(8);
            out.drain(at..(at + n).min(b.len()));
        }
        3 => out.insert(at, rng.next() as u8),
        _ => {
            let n = 1 + rng.below(64);
            let range = out[at..(at + n).min(b.len())].to_vec();
            out.splice(at..at, range);
        }
    }
    out
}

#[test]
fn random_edits_are_read_as_prost_reads_them_or_left_to_prost() {
    let (traces, logs) = encoded_captures();
    let mut rng = Rng(0x5eed);
    let (mut read, mut left, mut refused_by_prost) = (0, 0, 0);
    for (k, b) in traces.iter().chain(&logs).enumerate().filter(|(k, _)| k % 7 == 0) {
        let is_traces = k < traces.len();
        for _ in 0..60 {
            let e = edit(b, &mut rng);
            let took = if is_traces { agrees(&e) } else { logs_agree(&e) };
            let prost_ok = if is_traces {
                prost_traces(&e).is_some()
            } else {
                prost_logs(&e).is_some()
            };
            match (took, prost_ok) {
                (true, _) => read += 1,
                (false, true) => left += 1,
                (false, false) => refused_by_prost += 1,
            }
        }
    }
    // Most edits break the framing (prost refuses them); hundreds keep it and are compared
    // above. None that prost reads was left to it (merges are made on purpose below).
    assert!(
        read > 300 && refused_by_prost > 1000,
        "{read} {left} {refused_by_prost}"
    );
    assert_eq!(left, 0);
}

/// Wire-format writing for the edge cases.
fn key(out: &mut Vec<u8>, tag: u32, wire: WireType) {
    encode_key(tag, wire, out);
}

fn bytes_field(out: &mut Vec<u8>, tag: u32, b: &[u8]) {
    key(out, tag, WireType::LengthDelimited);
    encode_varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

fn varint_field(out: &mut Vec<u8>, tag: u32, v: u64) {
    key(out, tag, WireType::Varint);
    encode_varint(v, out);
}

/// A request of one resource, one scope and one span whose fields are `span` (raw bytes), with
/// `resource` as the ResourceSpans' fields before the scope.
fn request(resource: &[u8], span: &[u8]) -> Vec<u8> {
    let mut ss = Vec::new();
    bytes_field(&mut ss, 2, span);
    let mut rs = resource.to_vec();
    bytes_field(&mut rs, 2, &ss);
    let mut req = Vec::new();
    bytes_field(&mut req, 1, &rs);
    req
}

/// A valid span's fields: ids and a name.
fn span_fields() -> Vec<u8> {
    let mut s = Vec::new();
    bytes_field(&mut s, 1, &[1; 16]);
    bytes_field(&mut s, 2, &[2; 8]);
    bytes_field(&mut s, 5, b"chat");
    s
}

/// An attribute `k` whose value message holds `value` (raw AnyValue fields).
fn attribute(k: &str, value: &[u8]) -> Vec<u8> {
    let mut kv = Vec::new();
    bytes_field(&mut kv, 1, k.as_bytes());
    bytes_field(&mut kv, 2, value);
    let mut out = Vec::new();
    bytes_field(&mut out, 9, &kv);
    out
}

#[test]
fn what_prost_reads_the_same_way_is_read() {
    // The last value of a scalar or string field wins; kind and counts cut as prost cuts them.
    let mut s = span_fields();
    bytes_field(&mut s, 5, b"second name");
    varint_field(&mut s, 6, u64::MAX);
    varint_field(&mut s, 10, (1 << 40) + 3);
    assert!(agrees(&request(&[], &s)));
    assert_eq!(
        traces(&request(&[], &s)).unwrap().resource_spans[0].scope_spans[0].spans[0].name,
        "second name"
    );
    // Unknown fields of every wire type are skipped, in every message.
    let mut unknown = Vec::new();
    varint_field(&mut unknown, 99, 7);
    key(&mut unknown, 98, WireType::SixtyFourBit);
    unknown.extend_from_slice(&[0; 8]);
    bytes_field(&mut unknown, 97, b"\xff\xfe not even UTF-8");
    key(&mut unknown, 96, WireType::ThirtyTwoBit);
    unknown.extend_from_slice(&[0; 4]);
    let mut s = span_fields();
    s.extend_from_slice(&unknown);
    assert!(agrees(&request(&unknown, &s)));
    // An AnyValue's variants replace each other; none is Empty; Array then Kvlist is fine.
    let mut v = Vec::new();
    bytes_field(&mut v, 1, b"text");
    varint_field(&mut v, 3, 42);
    let mut s = span_fields();
    s.extend(attribute("a", &v));
    s.extend(attribute("empty", &[]));
    let mut av = Vec::new();
    bytes_field(&mut av, 5, &[]);
    bytes_field(&mut av, 6, &[]);
    s.extend(attribute("list", &av));
    assert!(agrees(&request(&[], &s)));
    // Ids of any length, an empty request, and a request of nothing but unknown fields.
    let mut s = span_fields();
    bytes_field(&mut s, 4, &[3; 40]);
    assert!(agrees(&request(&[], &s)));
    assert!(agrees(&[]));
    assert!(agrees(&unknown));
}

#[test]
fn what_prost_refuses_or_merges_is_left_to_it() {
    let refused = |b: &[u8]| {
        assert!(traces(b).is_none());
        assert!(prost_traces(b).is_none(), "prost reads {b:?}");
    };
    let merged = |b: &[u8]| {
        assert!(traces(b).is_none());
        assert!(prost_traces(b).is_some(), "prost refuses {b:?}");
    };
    // A name that is not UTF-8, a known field of the wrong wire type, a cut request, field 0,
    // a varint of eleven bytes, a group.
    let mut s = span_fields();
    bytes_field(&mut s, 5, b"\xff");
    refused(&request(&[], &s));
    let mut s = span_fields();
    varint_field(&mut s, 5, 1);
    refused(&request(&[], &s));
    let whole = request(&[], &span_fields());
    refused(&whole[..whole.len() - 1]);
    let mut s = span_fields();
    s.extend_from_slice(&[0, 1]);
    refused(&request(&[], &s));
    let mut s = span_fields();
    key(&mut s, 6, WireType::Varint);
    s.extend_from_slice(&[0xff; 10]);
    s.push(0);
    refused(&request(&[], &s));
    let mut s = span_fields();
    key(&mut s, 99, WireType::StartGroup);
    key(&mut s, 99, WireType::EndGroup);
    assert!(traces(&request(&[], &s)).is_none());
    // Singular messages given twice, which prost merges: a resource, a status, a value, the
    // same message variant of an AnyValue.
    let mut resource = Vec::new();
    bytes_field(&mut resource, 1, &[]);
    bytes_field(&mut resource, 1, &[]);
    merged(&request(&resource, &span_fields()));
    let mut s = span_fields();
    bytes_field(&mut s, 15, &[]);
    bytes_field(&mut s, 15, &[]);
    merged(&request(&[], &s));
    let mut kv = Vec::new();
    bytes_field(&mut kv, 1, b"k");
    bytes_field(&mut kv, 2, &[]);
    bytes_field(&mut kv, 2, &[]);
    let mut s = span_fields();
    bytes_field(&mut s, 9, &kv);
    merged(&request(&[], &s));
    let mut av = Vec::new();
    bytes_field(&mut av, 5, &[]);
    bytes_field(&mut av, 5, &[]);
    let mut s = span_fields();
    s.extend(attribute("a", &av));
    merged(&request(&[], &s));
    // Nesting deeper than the fast path reads (each array two levels, the value at the sixth)
    // but within prost's limit: prost reads it. Shallower, both do.
    let nested = |arrays: u32| {
        let mut value = Vec::new();
        bytes_field(&mut value, 1, b"leaf");
        for _ in 0..arrays {
            let mut array = Vec::new();
            bytes_field(&mut array, 1, &value);
            value.clear();
            bytes_field(&mut value, 5, &array);
        }
        let mut s = span_fields();
        s.extend(attribute("deep", &value));
        request(&[], &s)
    };
    merged(&nested(MAX_DEPTH / 2 + 2));
    assert!(agrees(&nested(MAX_DEPTH / 2 - 4)));
}
