//! `llmwatch replay` and the file reading it shares with `report`: same numbers as report,
//! paced by event time, several files merged in event-time order, stdin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn llmwatch(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run llmwatch");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The otel_genai capture's trace line, moved `shift_secs` in event time.
fn shifted(shift_secs: u64) -> String {
    let line = std::fs::read_to_string(fixture("otel_genai.jsonl")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    for rs in v["resourceSpans"].as_array_mut().unwrap() {
        for ss in rs["scopeSpans"].as_array_mut().unwrap() {
            for span in ss["spans"].as_array_mut().unwrap() {
                for key in ["startTimeUnixNano", "endTimeUnixNano"] {
                    let t: u64 = span[key].as_str().unwrap().parse().unwrap();
                    span[key] = serde_json::Value::String((t + shift_secs * 1_000_000_000).to_string());
                }
                // Distinct traces per shift, so the copies do not replace each other.
                let id = span["traceId"].as_str().unwrap();
                span["traceId"] = serde_json::Value::String(format!("{:02x}{}", shift_secs % 256, &id[2..]));
            }
        }
    }
    v.to_string()
}

#[test]
fn replay_at_max_speed_gives_the_reports_numbers() {
    let files = [
        fixture("otel_genai.jsonl"),
        fixture("openinference.jsonl"),
        fixture("otel_genai_eval.jsonl"),
        fixture("otel_genai_eval.logs.jsonl"),
    ];
    let mut args = vec!["report"];
    args.extend(files.iter().map(String::as_str));
    let (code, report, _) = llmwatch(&args, None);
    assert_eq!(code, 0);
    args[0] = "replay";
    args.extend(["--speed", "max", "--headless"]);
    let (code, replay, stderr) = llmwatch(&args, None);
    assert_eq!(code, 0, "{stderr}");
    let (mut a, mut b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&report).unwrap(),
        serde_json::from_str(&replay).unwrap(),
    );
    // The memory estimate depends on how many converters (each with its own interner) ran.
    for s in [&mut a, &mut b] {
        s.as_object_mut().unwrap().remove("memory");
    }
    assert_eq!(a, b);
    assert_eq!(a["spans"]["accepted"], 22);
}

#[test]
fn replay_follows_event_time_at_the_given_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-seconds.jsonl");
    std::fs::write(&path, format!("{}\n{}\n", shifted(0), shifted(2))).unwrap();
    let p = path.to_str().unwrap();
    let t0 = Instant::now();
    let (code, out, stderr) = llmwatch(&["replay", "--headless", "--speed", "4", p], None);
    let paced = t0.elapsed();
    assert_eq!(code, 0, "{stderr}");
    // 2 s of event time at 4x: at least half a second.
    assert!(paced >= Duration::from_millis(480), "{paced:?}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["spans"]["accepted"], 16);
    let t0 = Instant::now();
    let (code, _, _) = llmwatch(&["replay", "--headless", "--speed", "max", p], None);
    assert_eq!(code, 0);
    assert!(t0.elapsed() < paced, "max is faster than paced");
}

#[test]
fn several_files_merge_in_event_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late.jsonl");
    let early = dir.path().join("early.jsonl");
    std::fs::write(&late, shifted(60) + "\n").unwrap();
    std::fs::write(&early, shifted(0) + "\n").unwrap();
    // The late file is named first; the early file's spans still come first.
    let (code, out, _) = llmwatch(
        &[
            "report",
            "--spans",
            late.to_str().unwrap(),
            early.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(first["trace_id"].as_str().unwrap().starts_with("00"), "{first}");
}

#[test]
fn stdin_is_read_with_a_dash() {
    let input = std::fs::read(fixture("otel_genai.jsonl")).unwrap();
    let (code, out, stderr) = llmwatch(&["report", "-"], Some(&input));
    assert_eq!(code, 0, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["spans"]["accepted"], 8);
}

#[test]
fn a_bad_speed_is_a_usage_error() {
    let (code, _, stderr) = llmwatch(&["replay", "--speed", "0", &fixture("otel_genai.jsonl")], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("speed"), "{stderr}");
}

/// Per-second buckets (offset from the first second, spans, traces, errors) after reading
/// `files` through the pipeline at max speed.
fn buckets(files: Vec<std::path::PathBuf>) -> Vec<(u64, u32, u32, u32)> {
    use llmwatch::config::split_budget;
    let (store, handoff) = split_budget(200_000, 512 << 20);
    let opts = llmwatch::report::ReportOptions {
        files,
        spans: false,
        speed: llmwatch::replay::Speed::Max,
        status_every: None,
        recorder: None,
        store,
        handoff,
        semconv: Default::default(),
        costs: std::sync::Arc::new(llmwatch::cost::CostTable::bundled()),
        max_input_ratio: llmwatch::ingest::capture::DEFAULT_MAX_INPUT_RATIO,
    };
    let (pipeline, _) = llmwatch::report::ingest_files(&opts).unwrap();
    let store = pipeline.store();
    let all: Vec<_> = store
        .timeline()
        .window(3600)
        .map(|b| (b.second, b.spans, b.traces, b.errors))
        .collect();
    let first = all.first().map_or(0, |b| b.0);
    all.into_iter().map(|(s, a, b, c)| (s - first, a, b, c)).collect()
}

#[test]
fn a_capture_from_an_hour_ago_replays_with_the_same_per_second_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let now_path = dir.path().join("now.jsonl");
    let old_path = dir.path().join("hour-ago.jsonl");
    // The same traffic, once as captured and once an hour (and a bit) older.
    std::fs::write(&now_path, format!("{}\n{}\n", shifted(3_700), shifted(3_705))).unwrap();
    std::fs::write(&old_path, format!("{}\n{}\n", shifted(0), shifted(5))).unwrap();
    let (now, old) = (buckets(vec![now_path]), buckets(vec![old_path]));
    assert!(!now.is_empty());
    assert_eq!(now, old, "event time, not arrival time, places every span");
    assert_eq!(now.iter().map(|b| b.1).sum::<u32>(), 16);
    // The two copies sit 5 s apart in event time (read within milliseconds of each other).
    assert!(now.last().unwrap().0 >= 5, "{now:?}");
}

/// `--open` takes the first 8 or more hex digits of a trace id: fewer is a usage error, said in
/// one line naming the option, before anything is read.
#[test]
fn open_wants_eight_hex_digits_or_more() {
    for bad in ["1a2b3c4", "1a2b3c4x", "1a2b3c4d1a2b3c4d1a2b3c4d1a2b3c4d0"] {
        let (code, out, err) = llmwatch(&["replay", &fixture("otel_genai.jsonl"), "--open", bad], None);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(out.is_empty(), "{out}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.contains("--open") && first.contains("takes 8 to 32 hex digits of a trace id"),
            "{bad}: {err}"
        );
    }
}
