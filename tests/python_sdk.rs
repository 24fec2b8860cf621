//! Real clients: the official Python OpenTelemetry SDK exporters (OTLP/gRPC and OTLP/HTTP with
//! protobuf) send spans and log records to `llmwatch --headless`, and the summary counts every one.
//!
//! The Python comes from `LLMWATCH_TEST_PYTHON` if set, else from the venv at `target/pyvenv`,
//! which `scripts/setup-python-venv.sh` creates or refreshes (a no-op when it is up to date, so a
//! plain `cargo test` works on a machine that can reach PyPI). No usable Python fails the test: it
//! never skips.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Per transport (the script sends the same over gRPC and over HTTP).
const SPANS: u64 = 300;
/// Per transport: traces, each one root span with the rest of the spans spread as its children.
const TRACES: u64 = 60;
/// Per transport: log records, each emitted inside a span.
const LOGS: u64 = 120;
const TRANSPORTS: u64 = 2;

/// Long enough for a slow first import of the SDK; the exporters time out well before it.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python to run the script with, setting up the venv when `LLMWATCH_TEST_PYTHON` is unset.
fn python() -> PathBuf {
    // Used as given: a path, or a name looked up on PATH (spawning reports a bad one).
    if let Some(python) = std::env::var_os("LLMWATCH_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = manifest_dir().join("target/pyvenv");
    // Run even when the venv exists: the script returns at once when its marker matches the pins,
    // and reinstalls when scripts/python-requirements.txt changed.
    let status = Command::new("bash")
        .arg(manifest_dir().join("scripts/setup-python-venv.sh"))
        .arg(&venv)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/setup-python-venv.sh: {e}"));
    assert!(
        status.success(),
        "scripts/setup-python-venv.sh {} failed ({status}): this test needs python3 with venv and \
         access to PyPI, or LLMWATCH_TEST_PYTHON pointing at a Python with the packages in \
         scripts/python-requirements.txt",
        venv.display()
    );
    let python = venv.join("bin/python");
    assert!(python.exists(), "{} missing after setup", python.display());
    python
}

/// Reads a pipe to the end on its own thread, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// Runs `cmd` to completion with a deadline; returns (exit success, stdout, stderr).
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let status =
        status.unwrap_or_else(|| panic!("script still running after {timeout:?}; stderr:\n{stderr}"));
    (status.success(), stdout, stderr)
}

#[test]
fn python_sdk_exporters_over_grpc_and_http_are_counted_exactly() {
    let python = python();
    let server = common::spawn_headless(&[], &[]);

    let mut cmd = Command::new(&python);
    cmd.arg(manifest_dir().join("scripts/python_exporters.py"))
        .args(["--grpc", &server.grpc.to_string()])
        .args(["--http", &server.http.to_string()])
        .args(["--spans", &SPANS.to_string()])
        .args(["--traces", &TRACES.to_string()])
        .args(["--logs", &LOGS.to_string()]);
    // The SDK reads OTEL_* settings (disabled, headers, compression, batch sizes...): keep the
    // caller's out so the run is the same everywhere.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    let (ok, stdout, stderr) = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    // The exporters log refusals (status codes, retries) on stderr; show them either way.
    eprint!("{stderr}");
    let (spans, logs) = (SPANS * TRANSPORTS, LOGS * TRANSPORTS);
    assert!(
        ok,
        "python_exporters.py failed (its stderr is above); stdout:\n{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some(format!("sent spans={spans} logs={logs}").as_str()),
        "script output:\n{stdout}"
    );

    let (summary, exited_ok) = server.terminate();
    assert!(exited_ok, "llmwatch exits 0 on SIGTERM");
    println!("{summary}");
    let s: serde_json::Value = serde_json::from_str(&summary).expect("stdout is the JSON summary");
    let n = |path: &str| -> u64 {
        s.pointer(path)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("summary has no number at {path}:\n{summary}"))
    };

    // The script checked that the exporters got success for every item; from here on, any
    // shortfall is llmwatch's: received < sent means a request was half read, accepted < received
    // a refusal the exporters do not see (partial success), dropped/stored a loss after accepting.
    let expect = [
        ("/spans/received", spans),
        ("/spans/accepted", spans),
        ("/spans/rejected", 0),
        ("/spans/dropped", 0),
        ("/spans/stored", spans),
        ("/spans/duplicates", 0),
        ("/traces", TRACES * TRANSPORTS),
        ("/logs/received", logs),
        ("/logs/accepted", logs),
        ("/logs/rejected", 0),
        ("/logs/dropped", 0),
        ("/logs/stored", logs),
        ("/requests/partially_rejected", 0),
    ];
    for (path, want) in expect {
        assert_eq!(n(path), want, "{path}\n{summary}");
    }
    // Each transport carried at least one traces and one logs request, and every request was ok.
    let (grpc, http) = (n("/requests/grpc"), n("/requests/http"));
    assert!(
        grpc >= 2 && http >= 2,
        "requests grpc={grpc} http={http}\n{summary}"
    );
    assert_eq!(n("/requests/ok"), grpc + http, "{summary}");
}
