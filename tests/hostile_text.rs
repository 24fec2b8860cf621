//! Hostile text through every printed output of the real binary: cohort values (tenant, route,
//! model), evaluator, rule and file names carrying ESC sequences, OSC 52 with BEL, the C1 CSI,
//! `\r`, NUL, TAB and a bidi override reach `check`'s stdout, live headless alert lines, status
//! lines, `report`'s diagnostics and usage errors only escaped (`\u{1b}`), never raw.

mod common;

use serde_json::json;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Clears the screen, then writes `rm -rf ~` to the clipboard (OSC 52 ended by BEL).
const OSC52: &str = "\u{1b}[2J\u{1b}]52;c;cm0gLXJmIH4=\u{7}";
const TENANT: &str = "\u{1b}[2J\u{1b}]52;c;cm0gLXJmIH4=\u{7}acme";
const ROUTE: &str = "/pay\u{9b}31m\rok\u{202e}txt";
const MODEL: &str = "gpt\u{0}\t4o\u{1b}[1A";
const EVALUATOR: &str = "Ground\u{1b}]0;pwned\u{7}edness\u{85}";

/// `bytes` holds no byte a terminal acts on: nothing below 0x20 but `\n`, no DEL, no C1 (as
/// UTF-8, U+0080..=U+009F), no bidi override or isolate.
fn assert_inert(what: &str, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        assert!(
            b >= 0x20 && b != 0x7f || b == b'\n',
            "{what}: raw byte {b:#04x} at {i}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        assert!(
            !matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
            "{what}: raw {c:?} in:\n{text}"
        );
    }
}

fn attr(key: &str, value: &str) -> serde_json::Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// An OTLP/JSON request of `n` LLM spans from `start` (unix ns), every one with the hostile
/// tenant, route and model and an evaluation event from the hostile evaluator.
fn hostile_request(start: u64, n: u64) -> String {
    let spans: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let t = start + i * 1_000_000;
            json!({
                "traceId": format!("{:032x}", 0xabc000 + i),
                "spanId": format!("{:016x}", 0x100 + i),
                "name": format!("chat {MODEL}"),
                "kind": 3,
                "startTimeUnixNano": t.to_string(),
                "endTimeUnixNano": (t + 250_000_000).to_string(),
                "attributes": [
                    attr("gen_ai.operation.name", "chat"),
                    attr("gen_ai.provider.name", "openai"),
                    attr("gen_ai.request.model", MODEL),
                    attr("tenant.id", TENANT),
                    attr("app.route", ROUTE),
                ],
                "events": [{
                    "name": "gen_ai.evaluation.result",
                    "timeUnixNano": (t + 250_000_000).to_string(),
                    "attributes": [
                        attr("gen_ai.evaluation.name", EVALUATOR),
                        {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.25}},
                    ],
                }],
                "status": {},
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "svc\u{1b}[5mblink")]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]})
    .to_string()
}

/// Rules that fire for every hostile cohort and evaluator (rule names with controls are
/// refused, see below), plus one grouped by an attribute key with controls.
fn rules() -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let rule = |name: &str, metric: &str, extra: &str, group: &str, op: &str| {
        format!(
            "[[rule]]\nname = {}\nmetric = \"{metric}\"\n{extra}group_by = {}\nwindow = \"1m\"\nop = \"{op}\"\nthreshold = 0\nmin_samples = 1\n\n",
            q(name),
            q(group)
        )
    };
    [
        rule("by-tenant", "latency_p50_ms", "", "tenant", ">"),
        rule("by-route", "latency_p50_ms", "", "route", ">"),
        rule("by-model", "latency_p50_ms", "", "model", ">"),
        rule(
            "eval",
            "eval_mean_score",
            &format!("evaluator = {}\n", q(EVALUATOR)),
            "model",
            "<=",
        )
        .replace("threshold = 0\n", "threshold = 1\n"),
        rule("never", "latency_p50_ms", "", "attr\u{1b}]0;x\u{7}", ">"),
    ]
    .concat()
}

/// The escaped spellings that must appear instead.
fn assert_escaped(what: &str, text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{what}: {n:?} missing from:\n{text}");
    }
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .env_remove("LLMWATCH_AUTH_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run llmwatch");
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

#[test]
fn check_prints_hostile_cohorts_rule_and_file_names_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A capture whose very name carries an escape sequence.
    let capture = dir.path().join("cap\u{1b}[2J\r.jsonl");
    std::fs::write(&capture, hostile_request(1_764_237_792_000_000_000, 20) + "\n").unwrap();
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, rules()).unwrap();

    let (code, out, err) = run(&[
        "check".as_ref(),
        capture.as_os_str(),
        "--rules".as_ref(),
        rules_path.as_os_str(),
    ]);
    let (o, e) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
    assert_eq!(code, 1, "alerts fired\n{o}\n{e}");
    assert_inert("check stdout", &out);
    assert_inert("check stderr", &err);
    assert_eq!(o.lines().count(), 5, "one line per firing rule and cohort:\n{o}");
    assert_escaped(
        "check stdout",
        &o,
        &[
            "by-tenant tenant=\\u{1b}[2J\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}acme",
            "by-route route=/pay\\u{9b}31m\\rok\\u{202e}txt",
            "by-model model=gpt\\0\\t4o\\u{1b}[1A",
            "eval model=gpt\\0\\t4o\\u{1b}[1A",
            "never attr\\u{1b}]0;x\\u{7}=(none)",
        ],
    );
}

#[test]
fn report_diagnostics_and_usage_errors_quote_input_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A malformed line in a file with a hostile name: `FILE:LINE: reason`.
    let bad = dir.path().join("bad\u{1b}]52;c;eA==\u{7}.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{}\n{{\"resourceSpans\": \u{1b}[2J\u{9b}1m\u{202e}\n",
            hostile_request(1_764_237_792_000_000_000, 2)
        ),
    )
    .unwrap();
    let (_, out, err) = run(&["report".as_ref(), bad.as_os_str()]);
    assert_inert("report stdout", &out);
    assert_inert("report stderr", &err);
    assert_escaped(
        "report stderr",
        &String::from_utf8_lossy(&err),
        &["bad\\u{1b}]52;c;eA==\\u{7}.jsonl:2:"],
    );

    // A file that does not exist, named with controls.
    let missing = dir.path().join("missing\u{1b}[31m\r\t\u{202e}");
    for cmd in ["report", "check", "replay"] {
        let mut args = vec![cmd.as_ref(), missing.as_os_str()];
        if cmd == "check" {
            args.extend(["--rules".as_ref(), bad.as_os_str()]);
        }
        if cmd == "replay" {
            args.push("--headless".as_ref());
        }
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{cmd}: {}", String::from_utf8_lossy(&err));
        assert_inert(cmd, &out);
        assert_inert(cmd, &err);
    }
    let (code, _, err) = run(&["report".as_ref(), missing.as_os_str()]);
    assert_eq!(code, 2);
    assert_escaped(
        "missing file",
        &String::from_utf8_lossy(&err),
        &["missing\\u{1b}[31m\\r\\t\\u{202e}"],
    );

    // A rule name with controls is refused, and the refusal quotes it.
    let hostile_rules = dir.path().join("hostile.toml");
    std::fs::write(
        &hostile_rules,
        rules().replacen(
            "name = \"by-tenant\"",
            &format!("name = {:?}", format!("x{OSC52}")),
            1,
        ),
    )
    .unwrap();
    let (code, out, err) = run(&[
        "check".as_ref(),
        bad.as_os_str(),
        "--rules".as_ref(),
        hostile_rules.as_os_str(),
    ]);
    assert_eq!(code, 2, "{}", String::from_utf8_lossy(&err));
    assert_inert("rules error", &out);
    assert_inert("rules error", &err);

    // clap quotes a rejected value.
    let (code, out, err) = run(&[
        "replay".as_ref(),
        "--speed".as_ref(),
        OSC52.as_ref(),
        "x".as_ref(),
    ]);
    assert_eq!(code, 2, "{}", String::from_utf8_lossy(&err));
    assert_inert("usage error", &out);
    assert_inert("usage error", &err);

    // Status lines of a headless replay, with hostile rules watching.
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, rules()).unwrap();
    let capture = dir.path().join("cap\u{1b}[2J.jsonl");
    std::fs::write(&capture, hostile_request(1_764_237_792_000_000_000, 20) + "\n").unwrap();
    let (code, out, err) = run(&[
        "replay".as_ref(),
        capture.as_os_str(),
        "--headless".as_ref(),
        "--rules".as_ref(),
        rules_path.as_os_str(),
    ]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    assert_inert("replay stdout", &out);
    assert_inert("replay stderr", &err);
    assert_escaped(
        "replay alerts",
        &String::from_utf8_lossy(&err),
        &["ALERT firing by-tenant tenant=\\u{1b}[2J"],
    );
}

#[test]
fn live_headless_alert_and_status_lines_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, rules()).unwrap();
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(["--headless", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--status-interval", "0.2", "--rules"])
        .arg(&rules_path)
        .env_remove("LLMWATCH_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn llmwatch");
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = loop {
        let text = std::fs::read_to_string(&err_path).unwrap_or_default();
        if let Some(addr) = text
            .lines()
            .find(|l| l.contains("OTLP/HTTP listening on"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        {
            break addr;
        }
        assert!(Instant::now() < deadline, "no listen line:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let start = common::now_nanos() - 2_000_000_000;
    let resp = common::post(
        http,
        "/v1/traces",
        "application/json",
        hostile_request(start, 20).as_bytes(),
    );
    assert_eq!(resp.status, 200);
    // A status line or two, then the end: the last windows are judged on the way out.
    std::thread::sleep(Duration::from_millis(600));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    assert!(child.wait().unwrap().success());
    let err = std::fs::read(&err_path).unwrap();
    assert_inert("live stdout", &out);
    assert_inert("live stderr", &err);
    let e = String::from_utf8_lossy(&err);
    assert_escaped(
        "live stderr",
        &e,
        &[
            "tenant=\\u{1b}[2J\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}acme",
            "route=/pay\\u{9b}31m\\rok\\u{202e}txt",
            "model=gpt\\0\\t4o\\u{1b}[1A",
        ],
    );
    assert!(
        e.lines().any(|l| l.contains(" spans/s") || l.contains("spans")),
        "{e}"
    );
}
