//! ClickHouse as a source, against a real ClickHouse engine: chDB (ClickHouse in process) behind
//! `tests/clickhouse/front.py`, a small ClickHouse HTTP interface. Tables are made with the
//! Collector clickhouseexporter's DDL and filled from the captures in `tests/fixtures` with rows
//! as the exporter writes them (`tests/clickhouse/load.py`); `llmwatch report` then reads the
//! same data from the files and from ClickHouse and must give the same summary.
//!
//! The Python comes from `LLMWATCH_TEST_PYTHON` if set, else from the venv at `target/pyvenv`
//! that `scripts/setup-python-venv.sh` creates (chDB is pinned in
//! scripts/python-requirements.txt). No usable Python fails the tests: they never skip.

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with chDB, setting up the venv once when `LLMWATCH_TEST_PYTHON` is unset.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(python) = std::env::var_os("LLMWATCH_TEST_PYTHON") {
            return PathBuf::from(python);
        }
        let venv = manifest_dir().join("target/pyvenv");
        let status = Command::new("bash")
            .arg(manifest_dir().join("scripts/setup-python-venv.sh"))
            .arg(&venv)
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run scripts/setup-python-venv.sh: {e}"));
        assert!(
            status.success(),
            "scripts/setup-python-venv.sh {} failed ({status}): these tests need python3 with venv \
             and access to PyPI, or LLMWATCH_TEST_PYTHON pointing at a Python with chdb",
            venv.display()
        );
        venv.join("bin/python")
    })
}

/// A ClickHouse HTTP interface over chDB, stopped on drop.
struct Front {
    child: Child,
    port: u16,
    /// Over HTTPS: the CA the front's certificate chains to (its own helpers trust it).
    ca: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Front {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// Over HTTPS with `tls` (the certificate chain, its key and the CA that signed it).
    fn start_with(tls: Option<&Tls>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new(python());
        command
            .arg(manifest_dir().join("tests/clickhouse/front.py"))
            .arg(dir.path().join("data"));
        if let Some(tls) = tls {
            command.arg("--tls").arg(&tls.cert).arg(&tls.key);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/clickhouse/front.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("front.py prints its port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("front.py said {line:?}, not PORT n"));
        Front {
            child,
            port,
            ca: tls.map(|t| t.ca.clone()),
            _dir: dir,
        }
    }

    fn http(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A helper Python, trusting the front's CA when it serves HTTPS.
    fn helper(&self) -> Command {
        let mut command = Command::new(python());
        if let Some(ca) = &self.ca {
            command.env("SSL_CERT_FILE", ca);
        }
        command
    }

    fn url(&self, database: &str, options: &str) -> String {
        let sep = if options.is_empty() { "" } else { "?" };
        format!(
            "clickhouse://default@127.0.0.1:{}/{database}{sep}{options}",
            self.port
        )
    }

    /// Creates the exporter's tables in `database` and fills them from `captures`.
    fn load(&self, database: &str, flags: &[&str], captures: &[PathBuf]) {
        let out = self
            .helper()
            .arg(manifest_dir().join("tests/clickhouse/load.py"))
            .arg(self.http())
            .arg(database)
            .args(flags)
            .args(captures)
            .output()
            .expect("run load.py");
        assert!(
            out.status.success(),
            "load.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a statement through the HTTP interface (for the tests' own changes).
    fn sql(&self, sql: &str) {
        let out = self
            .helper()
            .args([
                "-c",
                "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode())).read()",
            ])
            .arg(self.http())
            .arg(sql)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PEM files made for a test: a CA, a server certificate it signed for 127.0.0.1 with its key,
/// and a second CA that signed nothing.
struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tls {
    fn make() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate().expect("CA key");
            let cert = params.self_signed(&key).expect("CA certificate");
            (cert, Issuer::new(params, key))
        };
        let (ca_cert, issuer) = ca("llmwatch test CA");
        let (other_cert, _) = ca("llmwatch other CA");
        let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("server params");
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write PEM");
            path
        };
        Tls {
            ca: write("ca.pem", ca_cert.pem()),
            other_ca: write("other-ca.pem", other_cert.pem()),
            // The chain a server sends: its certificate, then the CA's.
            cert: write("server.pem", cert.pem() + &ca_cert.pem()),
            key: write("server.key", key.serialize_pem()),
            _dir: dir,
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures").join(name)
}

/// Every instrumentation capture: spans and their evaluation log records.
fn captures() -> Vec<PathBuf> {
    [
        "otel_genai.jsonl",
        "otel_genai.logs.jsonl",
        "otel_genai_eval.jsonl",
        "otel_genai_eval.logs.jsonl",
        "openinference.jsonl",
    ]
    .into_iter()
    .map(fixture)
    .collect()
}

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn llmwatch(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_llmwatch"))
        .args(args)
        .env_remove("LLMWATCH_CLICKHOUSE_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("run llmwatch");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

fn report(sources: &[&str]) -> Value {
    let mut args = vec!["report"];
    args.extend_from_slice(sources);
    let run = llmwatch(&args);
    assert_eq!(run.code, Some(0), "report {sources:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("summary JSON")
}

/// `report URL`, which must fail: its one line on stderr (exit 2, no summary).
fn report_failure(url: &str) -> String {
    let run = llmwatch(&["report", url]);
    assert_eq!(run.code, Some(2), "{url}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{url}: no summary: {}", run.stdout);
    let line = run.stderr.trim().to_string();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    line
}

/// What must not depend on where the spans were read from.
fn essentials(summary: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "traces",
        "llm_calls",
        "errors",
        "tokens",
        "cost_usd",
        "unpriced_calls",
        "by_model",
        "verdicts",
        "latency_ms",
        "ttft_ms",
    ] {
        out.insert(key.into(), summary.get(key).cloned().unwrap_or(Value::Null));
    }
    out.insert("spans_accepted".into(), summary["spans"]["accepted"].clone());
    Value::Object(out)
}

fn paths(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|p| p.display().to_string()).collect()
}

#[test]
fn the_same_captures_from_files_and_from_clickhouse_give_the_same_summary() {
    let front = Front::start();
    front.load("classic", &[], &captures());
    front.load("old_enums", &["--old-enums"], &captures());
    let files = paths(&captures());
    let from_files = report(&files.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        from_files["llm_calls"].as_u64().unwrap_or(0) > 0,
        "the fixtures hold model calls"
    );
    assert!(
        !from_files["verdicts"].as_array().is_none_or(Vec::is_empty),
        "the fixtures hold verdicts"
    );
    let expected = essentials(&from_files);
    for database in ["classic", "old_enums"] {
        let from_clickhouse = report(&[&front.url(database, "")]);
        assert_eq!(
            essentials(&from_clickhouse),
            expected,
            "{database}: the summary from ClickHouse differs from the files'"
        );
    }
}

#[test]
fn the_json_attribute_schema_gives_the_same_model_calls() {
    let front = Front::start();
    front.load("json", &["--json"], &captures());
    let files = paths(&captures());
    let from_files = essentials(&report(&files.iter().map(String::as_str).collect::<Vec<_>>()));
    let from_clickhouse = essentials(&report(&[&front.url("json", "")]));
    assert_eq!(from_clickhouse, from_files);
}

#[test]
fn a_table_without_the_exporter_columns_is_refused_naming_them() {
    let front = Front::start();
    front.sql("CREATE DATABASE wrong");
    front.sql("CREATE TABLE wrong.otel_traces (Timestamp DateTime64(9), TraceId String, SpanId String) ENGINE = MergeTree ORDER BY Timestamp");
    let run = llmwatch(&["report", &front.url("wrong", "")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(
        line.contains("lacks columns ParentSpanId, SpanName, SpanKind"),
        "{line}"
    );
    assert!(line.contains("clickhouseexporter"), "{line}");

    let run = llmwatch(&["report", &front.url("wrong", "table=nothing_here")]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("has no table nothing_here"), "{}", run.stderr);
}

#[test]
fn a_query_error_is_one_line_with_clickhouses_message() {
    let front = Front::start();
    front.load("q", &[], &captures());
    // A `from` ClickHouse cannot parse as a time: its own error comes back.
    let line = report_failure(&front.url("q", "from=2026-99-99"));
    assert!(line.contains("ClickHouse: Code: "), "{line}");
    assert!(line.contains("DB::Exception"), "{line}");
    // An unreachable server.
    let run = llmwatch(&["report", "clickhouse://127.0.0.1:9/db"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("cannot reach clickhouse://127.0.0.1:9/db"),
        "{}",
        run.stderr
    );
}

#[test]
fn https_with_the_servers_ca_gives_the_same_summary_and_a_wrong_ca_fails_in_one_line() {
    let tls = Tls::make();
    let front = Front::start_with(Some(&tls));
    front.load("tls", &[], &captures());
    let files = paths(&captures());
    let from_files = essentials(&report(&files.iter().map(String::as_str).collect::<Vec<_>>()));
    let ca = |path: &Path| format!("secure=true&ca={}", path.display());
    let over_https = report(&[&front.url("tls", &ca(&tls.ca))]);
    assert_eq!(essentials(&over_https), from_files);

    // A CA that did not sign the server's certificate, and the system's store, which has
    // never heard of the test CA: verification fails, in one line that says why.
    for options in [ca(&tls.other_ca), "secure=true".to_string()] {
        let line = report_failure(&front.url("tls", &options));
        assert!(line.contains("TLS handshake failed"), "{line}");
        assert!(line.contains("not trusted by"), "{line}");
    }
    // Plain HTTP to an HTTPS port, and a CA file that is not one.
    report_failure(&front.url("tls", ""));
    let line = report_failure(&front.url("tls", &ca(&tls.key)));
    assert!(line.contains("holds no PEM certificate"), "{line}");
}

#[test]
fn an_error_after_the_answer_started_fails_the_report_in_one_line() {
    let front = Front::start();
    // front.py answers SELECTs on a database named midstream_error* with half the rows and then
    // ClickHouse's exception block, after HTTP 200.
    front.load("midstream_error", &[], &captures());
    let line = report_failure(&front.url("midstream_error", ""));
    assert!(
        line.contains("ClickHouse: Code: 395. DB::Exception: the answer failed half-way"),
        "{line}"
    );
    assert!(!line.contains("__exception__"), "{line}");
}

#[test]
fn the_live_tail_shows_an_error_after_the_answer_started_and_keeps_polling() {
    let front = Front::start();
    front.load("midstream_error", &["--shift-to-now"], &captures());
    let url = front.url("midstream_error", "poll=200ms");
    let headless = common::spawn_headless(&["--source", &url], &[]);
    std::thread::sleep(Duration::from_secs(3));
    let errors: Vec<String> = headless
        .stderr_so_far()
        .into_iter()
        .filter(|l| l.contains("/otel_traces: ") && l.contains("DB::Exception"))
        .collect();
    let (stdout, ok) = headless.terminate();
    assert!(ok, "llmwatch exited badly");
    // About fifteen polls of the spans failed; the failure is said once, with ClickHouse's
    // message.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("Code: 395. DB::Exception: the answer failed half-way")
            && errors[0].contains("retrying every 200ms"),
        "{}",
        errors[0]
    );
    let live: Value = serde_json::from_str(&stdout).expect("summary JSON");
    // A batch the break interrupted is not delivered: never the whole capture.
    let files = paths(&captures());
    let all = report(&files.iter().map(String::as_str).collect::<Vec<_>>());
    let accepted = live["spans"]["accepted"].as_u64().unwrap_or(0);
    assert!(
        accepted < all["spans"]["accepted"].as_u64().unwrap_or(0),
        "only the rows before the break: {accepted}"
    );
}

#[test]
fn poll_sets_the_live_tails_interval() {
    let front = Front::start();
    front.load("poll", &[], &[]);
    // Two tails: one polling every 300 ms, one every hour (its first poll, at start, finds
    // the table empty).
    let fast = common::spawn_headless(&["--source", &front.url("poll", "poll=300ms")], &[]);
    let slow = common::spawn_headless(&["--source", &front.url("poll", "poll=1h")], &[]);
    std::thread::sleep(Duration::from_millis(500));
    front.load(
        "poll",
        &["--shift-to-now", "--no-create"],
        &[fixture("otel_genai.jsonl")],
    );
    let expected = report(&[fixture("otel_genai.jsonl").to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(1500));
    let summary = |tail: common::Headless| {
        let (stdout, ok) = tail.terminate();
        assert!(ok, "llmwatch exited badly");
        serde_json::from_str::<Value>(&stdout).expect("summary JSON")
    };
    assert_eq!(summary(fast)["spans"]["accepted"], expected["spans"]["accepted"]);
    assert_eq!(summary(slow)["spans"]["accepted"], 0);
}

#[test]
fn one_trace_by_id_and_one_service() {
    let front = Front::start();
    front.load("one", &[], &captures());
    let spans = llmwatch(&["report", "--spans", fixture("otel_genai.jsonl").to_str().unwrap()]);
    let first: Value = serde_json::from_str(spans.stdout.lines().next().expect("a span")).expect("span JSON");
    let trace_id = first["trace_id"].as_str().expect("trace_id");
    let in_files = spans
        .stdout
        .lines()
        .filter(|l| l.contains(&format!("\"trace_id\":\"{trace_id}\"")))
        .count();
    // Through the exporter's otel_traces_trace_id_ts lookup table, which load.py creates.
    let one = report(&[&front.url("one", &format!("trace_id={trace_id}"))]);
    assert_eq!(one["traces"], 1);
    assert_eq!(one["spans"]["accepted"].as_u64(), Some(in_files as u64));
    let service = first["service"].as_str().expect("service");
    let by_service = report(&[&front.url("one", &format!("service={service}"))]);
    let from_file = report(&[fixture("otel_genai.jsonl").to_str().unwrap()]);
    assert_eq!(by_service["spans"]["accepted"], from_file["spans"]["accepted"]);
}

#[test]
fn since_and_from_to_select_by_timestamp() {
    let front = Front::start();
    // The spans of one capture an hour ago...
    front.load(
        "t",
        &["--shift-to-now", "--ago=3600"],
        &[fixture("otel_genai.jsonl")],
    );
    // ...and another's now.
    front.load(
        "t",
        &["--shift-to-now", "--no-create"],
        &[fixture("openinference.jsonl")],
    );
    let all = report(&[&front.url("t", "")]);
    let recent = report(&["--since", "10m", &front.url("t", "")]);
    let openinference = report(&[fixture("openinference.jsonl").to_str().unwrap()]);
    assert_eq!(essentials(&recent), essentials(&openinference));
    assert!(all["spans"]["accepted"].as_u64() > recent["spans"]["accepted"].as_u64());
    // An explicit window that holds only the older capture.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (from, to) = ((now - 7200).to_string(), (now - 1800).to_string());
    let older = report(&["--from", &from, "--to", &to, &front.url("t", "")]);
    let genai = report(&[fixture("otel_genai.jsonl").to_str().unwrap()]);
    assert_eq!(older["spans"]["accepted"], genai["spans"]["accepted"]);
    assert_eq!(older["llm_calls"], genai["llm_calls"]);
}

#[test]
fn live_source_picks_up_rows_inserted_after_start() {
    let front = Front::start();
    // The tables exist, empty, before llmwatch starts.
    front.load("live", &[], &[]);
    let url = front.url("live", "");
    let headless = common::spawn_headless(&["--source", &url], &[]);
    std::thread::sleep(Duration::from_millis(500));
    front.load(
        "live",
        &["--shift-to-now", "--no-create"],
        &[fixture("otel_genai.jsonl"), fixture("openinference.jsonl")],
    );
    let expected = report(&[
        fixture("otel_genai.jsonl").to_str().unwrap(),
        fixture("openinference.jsonl").to_str().unwrap(),
    ]);
    // Two polls and the overlap re-read the same rows: each span still counts once.
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    let (stdout, ok) = headless.terminate();
    assert!(ok, "llmwatch exited badly");
    let live: Value = serde_json::from_str(&stdout).expect("summary JSON");
    assert_eq!(live["spans"]["accepted"], expected["spans"]["accepted"]);
    assert_eq!(live["llm_calls"], expected["llm_calls"]);
    assert_eq!(live["tokens"], expected["tokens"]);
    assert_eq!(live["cost_usd"], expected["cost_usd"]);
}
