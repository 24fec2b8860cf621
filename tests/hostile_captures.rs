//! Input that is not a capture (zeros, garbage, UTF-16 text, decompression bombs) is refused
//! early with exit code 2 and a one-line reason; real captures still read.

mod common;

use common::run_llmwatch as llmwatch;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `report` (then `replay --speed max --headless`) on `path`: both exit 2 with one line on
/// stderr containing `reason`, within `within`.
fn refused(path: &Path, reason: &str, within: Duration) {
    let file = path.to_str().unwrap();
    for args in [
        vec!["report", file],
        vec!["replay", "--speed", "max", "--headless", file],
    ] {
        let started = Instant::now();
        let (code, stdout, stderr) = llmwatch(&args);
        let took = started.elapsed();
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: no summary: {stdout}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {stderr}");
        assert!(lines[0].contains(reason), "{args:?}: {stderr}");
        assert!(took < within, "{args:?} took {took:?}");
    }
}

/// One OTLP/JSON trace line whose span carries `pad` bytes of one letter: very regular text,
/// which compresses about a thousand times.
fn padded_line(n: usize, pad: usize) -> String {
    format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{n:032x}","spanId":"{:016x}","name":"x","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000","attributes":[{{"key":"pad","value":{{"stringValue":"{}"}}}}]}}]}}]}}]}}"#,
        n + 1,
        "a".repeat(pad)
    )
}

#[test]
fn zero_bytes_are_not_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    // Four MiB of zeros: a million empty protobuf frames.
    let zeros = write(dir.path(), "zeros.bin", &vec![0u8; 4 << 20]);
    refused(&zeros, "not an OTLP capture", Duration::from_secs(2));
}

#[test]
fn garbage_and_utf16_hold_no_spans_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed pseudo-random stream (xorshift), so a failure can be reproduced.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..(256 << 10))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let garbage = write(dir.path(), "garbage.bin", &garbage);
    refused(&garbage, "holds no spans or logs", Duration::from_secs(5));

    // OTLP/JSON saved as UTF-16 (a byte-order mark, then two bytes a character).
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/otel_genai.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let utf16 = write(dir.path(), "utf16.jsonl", &utf16);
    refused(&utf16, "holds no spans or logs", Duration::from_secs(5));
}

#[test]
fn a_gzip_bomb_is_stopped_early() {
    let dir = tempfile::tempdir().unwrap();
    // 1 GiB of zeros would take minutes to read; it is refused within the first megabytes.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..256 {
        gz.write_all(&block).unwrap();
    }
    let zeros = write(dir.path(), "zeros.gz", &gz.finish().unwrap());
    refused(&zeros, "not an OTLP capture", Duration::from_secs(5));

    // Valid spans, but padded so that the file inflates about a thousand times: stopped by
    // the ratio, with the option named.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for n in 0..200 {
        gz.write_all(padded_line(n, 1 << 20).as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let bomb = write(dir.path(), "bomb.jsonl.gz", &bomb);
    refused(&bomb, "--max-input-ratio", Duration::from_secs(20));
    // The limit is the user's to raise.
    let (code, _, stderr) = llmwatch(&["report", "--max-input-ratio", "100000", bomb.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_zstd_bomb_is_stopped_early() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = zstd::stream::write::Encoder::new(Vec::new(), 19).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..512 {
        z.write_all(&block).unwrap();
    }
    let zeros = write(dir.path(), "zeros.zst", &z.finish().unwrap());
    refused(&zeros, "not an OTLP capture", Duration::from_secs(5));

    let mut z = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    for n in 0..200 {
        z.write_all(padded_line(n, 1 << 20).as_bytes()).unwrap();
        z.write_all(b"\n").unwrap();
    }
    let bomb = write(dir.path(), "bomb.jsonl.zst", &z.finish().unwrap());
    refused(&bomb, "--max-input-ratio", Duration::from_secs(20));
}

#[test]
fn real_captures_still_read() {
    let root = env!("CARGO_MANIFEST_DIR");
    for file in [
        format!("{root}/demo/capture.jsonl.gz"),
        format!("{root}/tests/fixtures/otel_genai.jsonl"),
        format!("{root}/tests/fixtures/capture/collector.metrics.jsonl"),
    ] {
        let (code, stdout, stderr) = llmwatch(&["report", &file]);
        assert_eq!(code, 0, "{file}: {stderr}");
        let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let items = s["spans"]["accepted"].as_u64().unwrap()
            + s["logs"]["accepted"].as_u64().unwrap()
            + s["metrics"]["data_points_accepted"].as_u64().unwrap();
        assert!(items > 0, "{file}: {stdout}");
    }
}

#[test]
fn implausible_costs_and_tokens_are_counted_not_summed() {
    let dir = tempfile::tempdir().unwrap();
    let span = |n: u32, attrs: &str| {
        format!(
            r#"{{"traceId":"{n:032x}","spanId":"{n:016x}","name":"chat m","kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o-mini"}}}},{attrs}]}}"#
        )
    };
    let cost = r#"{"key":"gen_ai.usage.cost","value":{"doubleValue":1e308}}"#;
    let tokens = r#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"9223372036854775807"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"9223372036854775000"}}"#;
    let fine = r#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1000"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"100"}}"#;
    let spans = [span(1, cost), span(2, cost), span(3, tokens), span(4, fine)].join(",");
    let line = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}]}}]}}]}}"#);
    let file = write(dir.path(), "hostile.jsonl", format!("{line}\n").as_bytes());
    let (code, stdout, stderr) = llmwatch(&["report", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["truncation"]["implausible_values"], 4, "{stdout}");
    assert_eq!(s["tokens"]["input"], 1000);
    assert_eq!(s["tokens"]["output"], 100);
    let cost = s["cost_usd"].as_f64().expect("cost_usd is a number, not null");
    assert!(cost > 0.0 && cost < 1.0, "{cost}");
    assert_eq!(s["llm_calls"], 4);
}
