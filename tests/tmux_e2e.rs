//! End to end through a real terminal: the dashboard runs inside a detached tmux session (its own
//! server socket, 160x48, xterm-256color), real clients send OTLP/HTTP and OTLP/gRPC (the demo
//! generator) to it, and the test reads the screen with `tmux capture-pane` and types with
//! `tmux send-keys`: filter, help, pause, quit; then checks the exit status and the summary file.
//! Skipped (passes with a message) when tmux is not installed.

mod common;

use common::{llm_batch, now_nanos, post};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_llmwatch");
const SESSION: &str = "llmwatch-e2e";
/// Root span name of the traces this test sends itself (the demo never uses it).
const ROOT_NAME: &str = "tmux-e2e checkout";
/// The model of every span this test sends itself.
const MODEL: &str = "gpt-4o";
/// Spans per trace in the batches this test sends.
const PER_TRACE: usize = 2;

fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tmux server of our own (`tmux -L NAME`, no config file), killed on drop, also on panic.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Tmux {
            socket: format!("llmwatch-e2e-{}-{nanos}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            // Never talk to (or nest in) the tmux we may be running under; no token in the pane.
            .env_remove("TMUX")
            .env_remove("LLMWATCH_AUTH_TOKEN")
            // The pane's command is POSIX shell whatever the user's login shell is.
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The visible screen as plain text.
    fn capture(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        assert!(
            out.status.success(),
            "capture-pane failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Key names as tmux knows them (`Enter`, `Space`, `Escape`, `q`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend(keys);
        self.ok(&args);
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Polls the screen until `ready` holds on a settled screen (the same on two captures 50 ms
    /// apart, so never a frame tmux has only partly received); panics with `what` and the last
    /// screen at `deadline`, or at once if the pane's command has ended.
    fn wait_for(&self, what: &str, deadline: Instant, ready: impl Fn(&str) -> bool) -> String {
        let mut screen = self.capture();
        loop {
            if ready(&screen) {
                std::thread::sleep(Duration::from_millis(50));
                let again = self.capture();
                if again == screen {
                    return screen;
                }
                screen = again;
                continue;
            }
            if screen.contains("EXITED=") || Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
            screen = self.capture();
        }
    }

    /// The screen once it has not changed for a second (late verdicts and reasons can still
    /// reorder a list after a replay says DONE).
    fn settle(&self, deadline: Instant) -> String {
        let mut screen = self.capture();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let again = self.capture();
            if again != screen {
                screen = again;
                since = Instant::now();
            } else if since.elapsed() >= Duration::from_secs(1) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never settled:\n{screen}");
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server leaves its socket file behind; remove that too.
        let socket = self.run(&["display-message", "-p", "#{socket_path}"]);
        let _ = self.run(&["kill-server"]);
        let path = String::from_utf8_lossy(&socket.stdout).trim().to_string();
        if socket.status.success() && path.contains(&self.socket) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Two distinct free loopback ports (both held while picking, then released).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// A directory in a fresh temporary one, nested until its path is over 150 characters: the
/// captures are replayed from there, so that a long checkout or temporary path (which reaches
/// the status bar as the replayed file's name) is what the tests see, wherever they run.
fn long_dir(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    let mut dir = tmp.path().to_path_buf();
    while dir.as_os_str().len() <= 150 {
        dir.push("a-rather-long-directory-name");
    }
    std::fs::create_dir_all(&dir).expect("create the long directory");
    dir
}

/// `demo/NAME` copied into `dir`.
fn copy_demo(name: &str, dir: &std::path::Path) -> String {
    let to = dir.join(name);
    std::fs::copy(format!("{}/demo/{name}", env!("CARGO_MANIFEST_DIR")), &to).expect("copy");
    to.to_str().expect("UTF-8 temp path").to_string()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `n_traces` traces of `PER_TRACE` spans from `first_trace` on, stamped now: the common LLM
/// spans, renamed (roots) and switched to `MODEL`.
fn our_batch(first_trace: u64, n_traces: usize) -> ExportTraceServiceRequest {
    let mut req = llm_batch(first_trace, n_traces * PER_TRACE, PER_TRACE, now_nanos());
    for span in req
        .resource_spans
        .iter_mut()
        .flat_map(|r| &mut r.scope_spans)
        .flat_map(|s| &mut s.spans)
    {
        if span.parent_span_id.is_empty() {
            span.name = ROOT_NAME.into();
        } else {
            span.name = format!("chat {MODEL}");
        }
        for kv in &mut span.attributes {
            let model = match kv.key.as_str() {
                "gen_ai.request.model" => MODEL,
                "gen_ai.response.model" => "gpt-4o-2024-08-06",
                _ => continue,
            };
            kv.value.as_mut().unwrap().value = Some(any_value::Value::StringValue(model.into()));
        }
    }
    req
}

/// The status bar's held-span count: `buf 1% 1001/200.0k` -> 1001.
fn buf_count(screen: &str) -> Option<u64> {
    let status = screen.lines().next()?;
    let rest = &status[status.find("buf ")? + 4..];
    let held = rest.split_whitespace().nth(1)?.split('/').next()?;
    held.parse().ok()
}

/// The status bar's rate: `│ 998 spans/s 3.0 traces/s │` -> 998.
fn spans_per_sec(screen: &str) -> Option<u64> {
    let status = screen.lines().next()?;
    let before = &status[..status.find(" spans/s")?];
    before.rsplit(' ').next()?.parse().ok()
}

/// The Traces pane title's counts: (matching, total) from `N of M match`, or (M, M) from `M held`.
fn trace_counts(screen: &str) -> Option<(u64, u64)> {
    let line = screen.lines().find(|l| l.contains("Traces · sort:"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    if let Some(i) = words.iter().position(|w| *w == "match") {
        let (n, of, m) = (words.get(i.checked_sub(3)?)?, words[i - 2], words[i - 1]);
        (of == "of").then_some(())?;
        return Some((n.parse().ok()?, m.parse().ok()?));
    }
    let i = words.iter().position(|w| *w == "held")?;
    let m = words.get(i.checked_sub(1)?)?.parse().ok()?;
    Some((m, m))
}

/// The Traces pane's data rows (between its header line and its bottom border).
fn trace_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("┃time"))
        .skip(1)
        .take_while(|l| l.starts_with('┃'))
        .collect()
}

/// The latency pane's text: from its title line down to the Cost outliers pane, cut at the
/// pane's left edge.
fn latency_pane(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(top) = lines.iter().position(|l| l.contains("Latency by ")) else {
        return String::new();
    };
    let title = lines[top];
    let left = title[..title.find("╭ Latency").unwrap_or(0)].chars().count();
    let mut out = String::new();
    for line in lines[top..].iter().take_while(|l| !l.contains("Cost outliers")) {
        out.extend(line.chars().skip(left));
        out.push('\n');
    }
    out
}

/// Runs `llmwatch demo --send` as a second client; kills it if it takes longer than `limit`.
fn run_demo(grpc: SocketAddr, limit: Duration) {
    let mut child = Command::new(BIN)
        .args(["demo", "--send", &format!("http://{grpc}")])
        .args(["--duration", "20", "--speed", "max", "--seed", "7"])
        .env_remove("LLMWATCH_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn llmwatch demo");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait demo").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "llmwatch demo --send did not finish in {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "llmwatch demo --send failed ({}); stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the dashboard in the session on fresh ports and waits for its LIVE badge and listen
/// addresses. The ports were free a moment ago; should another process take one in between,
/// tries again with new ones.
fn start(tmux: &Tmux, summary: &std::path::Path, deadline: Instant) -> (SocketAddr, SocketAddr, String) {
    for attempt in 1.. {
        let (grpc_port, http_port) = free_ports();
        let grpc: SocketAddr = ([127, 0, 0, 1], grpc_port).into();
        let http: SocketAddr = ([127, 0, 0, 1], http_port).into();
        // The exit status stays on screen; the sleep keeps the pane (the server is killed at the
        // end anyway).
        let command = format!(
            "unset LLMWATCH_AUTH_TOKEN; TERM=xterm-256color {} --grpc {grpc} --http {http} --summary {}; \
             echo EXITED=$?; sleep 120",
            shell_quote(BIN),
            shell_quote(summary.to_str().expect("UTF-8 temp path")),
        );
        tmux.ok(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "160",
            "-y",
            "48",
            "-e",
            "TERM=xterm-256color",
            &command,
        ]);
        let (grpc_shown, http_shown) = (format!("grpc {grpc}"), format!("http {http}"));
        loop {
            let screen = tmux.capture();
            let status = screen.lines().next().unwrap_or("");
            if status.contains(" LIVE ") && status.contains(&grpc_shown) && status.contains(&http_shown) {
                return (grpc, http, screen);
            }
            if screen.contains("EXITED=") {
                if screen.contains("in use") && attempt < 3 {
                    tmux.ok(&["kill-session", "-t", SESSION]);
                    break;
                }
                panic!("llmwatch exited at startup:\n{screen}");
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for the LIVE badge and the listen addresses; the screen:\n{screen}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    unreachable!()
}

#[test]
fn dashboard_in_tmux_shows_traffic_and_obeys_keys() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let t0 = Instant::now();
    let summary_dir = tempfile::tempdir().unwrap();
    let summary = summary_dir.path().join("summary.json");
    let tmux = Tmux::new();
    // 1. The screen comes up live, with both listen addresses.
    let deadline = t0 + Duration::from_secs(20);
    let (grpc, http, _) = start(&tmux, &summary, deadline);
    let screen = tmux.wait_for("the four panes and the footer", deadline, |s| {
        ["Volume", "Latency by model", "Cost outliers", "Traces · sort:"]
            .iter()
            .all(|pane| s.contains(pane))
            && s.lines()
                .last()
                .is_some_and(|l| l.contains("? help") && l.contains("/ filter"))
    });
    assert_eq!(
        buf_count(&screen),
        Some(0),
        "buffer not empty before any traffic:\n{screen}"
    );
    let startup = t0.elapsed();

    // 2. Our own traces over OTLP/HTTP: 3 traces as protobuf, 2 as JSON.
    let pb = post(
        http,
        "/v1/traces",
        "application/x-protobuf",
        &our_batch(1, 3).encode_to_vec(),
    );
    assert_eq!(
        pb.status,
        200,
        "protobuf export: {:?}",
        String::from_utf8_lossy(&pb.body)
    );
    let json = serde_json::to_vec(&our_batch(4, 2)).unwrap();
    let js = post(http, "/v1/traces", "application/json", &json);
    assert_eq!(
        js.status,
        200,
        "JSON export: {:?}",
        String::from_utf8_lossy(&js.body)
    );
    let ours = (5 * PER_TRACE) as u64;

    let deadline = Instant::now() + Duration::from_secs(10);
    let screen = tmux.wait_for("our 5 traces in the list and the buffer", deadline, |s| {
        buf_count(s) == Some(ours) && trace_counts(s) == Some((5, 5))
    });
    let rows = trace_rows(&screen);
    let ours_shown: Vec<_> = rows.iter().filter(|r| r.contains(ROOT_NAME)).collect();
    assert_eq!(
        ours_shown.len(),
        5,
        "expected our 5 traces as rows named {ROOT_NAME:?}:\n{screen}"
    );
    for row in &ours_shown {
        assert!(
            row.contains("/support/chat") && row.contains(MODEL) && row.contains('$'),
            "a row of ours lacks its route, model or cost: {row:?}\n{screen}"
        );
    }
    let latency = latency_pane(&screen);
    let cohorts: Vec<&str> = latency
        .lines()
        .filter_map(|l| l.trim_start_matches('│').split_whitespace().next())
        .collect();
    assert!(
        cohorts.contains(&MODEL),
        "the latency pane does not list {MODEL}:\n{latency}\nthe screen:\n{screen}"
    );

    // 3. The demo generator as a second client, over gRPC.
    run_demo(grpc, Duration::from_secs(15));
    let deadline = Instant::now() + Duration::from_secs(10);
    let screen = tmux.wait_for("the demo's traffic", deadline, |s| {
        buf_count(s).is_some_and(|n| n > ours)
            && trace_counts(s).is_some_and(|(_, m)| m > 5)
            && latency_pane(s).contains("claude-sonnet-4-5")
    });
    // Let the last of it land: the held count is stable over two status ticks.
    let mut held = buf_count(&screen).unwrap();
    let mut stable_since = Instant::now();
    let mut top_rate = spans_per_sec(&screen).unwrap_or(0);
    while stable_since.elapsed() < Duration::from_millis(2100) {
        std::thread::sleep(Duration::from_millis(200));
        let s = tmux.capture();
        let now = buf_count(&s).unwrap_or_else(|| panic!("no buffer count in the status bar:\n{s}"));
        top_rate = top_rate.max(spans_per_sec(&s).unwrap_or(0));
        if now != held {
            (held, stable_since) = (now, Instant::now());
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(5),
            "held count never settles:\n{s}"
        );
    }
    let screen = tmux.capture();
    assert!(
        top_rate > 0,
        "spans/s never moved off 0 while the demo's traffic landed:\n{screen}"
    );
    let (_, total) =
        trace_counts(&screen).unwrap_or_else(|| panic!("no counts in the Traces title:\n{screen}"));
    assert!(
        screen.contains("evicted 0 dropped 0 rejected 0"),
        "data was lost or refused:\n{screen}"
    );

    // 4. Filter: `/model:gpt-4o` Enter -> "N of M match", every row shown has a gpt-4o model.
    let deadline = Instant::now() + Duration::from_secs(5);
    tmux.keys(&["/"]);
    tmux.wait_for("the filter prompt", deadline, |s| {
        s.lines().any(|l| l.starts_with('/') && l.contains("Enter apply"))
    });
    tmux.type_text(&format!("model:{MODEL}"));
    tmux.wait_for("the typed filter", deadline, |s| {
        s.lines().any(|l| l.starts_with("/model:gpt-4o"))
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("`N of M match` in the Traces title", deadline, |s| {
        s.lines()
            .any(|l| l.contains("Traces · sort:") && l.contains(" match "))
    });
    let (matching, of) = trace_counts(&screen).expect("counts in the Traces title");
    assert_eq!(of, total, "the total changed under the filter:\n{screen}");
    assert!(
        matching >= 5 && matching < total,
        "model:{MODEL} should match our 5 traces and the demo's gpt-4o ones but not all {total}: \
         {matching} of {of}\n{screen}"
    );
    assert!(
        screen.contains(&format!("filter: model:{MODEL}")),
        "the footer does not show the filter in force:\n{screen}"
    );
    let rows = trace_rows(&screen);
    assert!(!rows.is_empty(), "no rows under the filter:\n{screen}");
    for row in &rows {
        assert!(
            row.contains(MODEL),
            "a row that does not match model:{MODEL}: {row:?}\n{screen}"
        );
    }
    // Esc clears it.
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("the filter cleared", deadline, |s| {
        trace_counts(s) == Some((total, total))
    });
    assert!(
        !screen.contains("filter: "),
        "the footer still shows a filter:\n{screen}"
    );

    // 5. Help: `?` opens the Keys overlay, any key closes it.
    tmux.keys(&["?"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let screen = tmux.wait_for("the help overlay", deadline, |s| s.contains(" Keys "));
    assert!(
        // Keys only the overlay names (the footer has space, Tab, q, ...).
        ["Ctrl-C", "Shift-Tab", "PgUp"].iter().all(|k| screen.contains(k)),
        "the help overlay lacks its keys:\n{screen}"
    );
    tmux.keys(&["x"]);
    tmux.wait_for("the help overlay to close", deadline, |s| {
        !s.contains(" Keys ") && s.contains("Traces · sort:")
    });

    // 6. Pause: the view freezes, arrivals are counted on the badge; space resumes.
    tmux.keys(&["Space"]);
    let screen = tmux.wait_for("the PAUSED badge", deadline, |s| {
        s.lines().next().is_some_and(|l| l.contains(" PAUSED +0 spans "))
    });
    assert!(
        !screen.lines().next().unwrap().contains(" LIVE "),
        "LIVE and PAUSED at once:\n{screen}"
    );
    let late = post(
        http,
        "/v1/traces",
        "application/x-protobuf",
        &our_batch(6, 1).encode_to_vec(),
    );
    assert_eq!(
        late.status,
        200,
        "export while paused: {:?}",
        String::from_utf8_lossy(&late.body)
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let screen = tmux.wait_for("the arrivals counted while paused", deadline, |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains(&format!(" PAUSED +{PER_TRACE} spans ")))
    });
    assert_eq!(
        trace_counts(&screen),
        Some((total, total)),
        "the list moved while paused:\n{screen}"
    );
    tmux.keys(&["Space"]);
    let held = held + PER_TRACE as u64;
    let screen = tmux.wait_for("LIVE again with the late trace", deadline, |s| {
        s.lines().next().is_some_and(|l| l.contains(" LIVE "))
            && buf_count(s) == Some(held)
            && trace_counts(s) == Some((total + 1, total + 1))
    });

    // 7. Quit: the screen is restored, the exit status is 0, the summary agrees with the screen.
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut exited = String::new();
    while Instant::now() < deadline {
        exited = tmux.capture();
        if exited.contains("EXITED=") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        exited.contains("EXITED=0"),
        "llmwatch did not exit cleanly after q:\n{exited}\nbefore:\n{screen}"
    );
    assert!(
        !exited.contains("Traces · sort:") && !exited.contains("Latency by"),
        "the dashboard is still on the screen after exit (terminal not restored):\n{exited}"
    );
    let text = std::fs::read_to_string(&summary)
        .unwrap_or_else(|e| panic!("summary {}: {e}\nthe screen:\n{exited}", summary.display()));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("summary is not JSON ({e}):\n{text}"));
    let accepted = json["spans"]["accepted"].as_u64().expect("spans.accepted");
    assert!(accepted > 0, "no spans accepted: {}", json["spans"]);
    assert_eq!(
        accepted, held,
        "summary vs the status bar's held count: {}",
        json["spans"]
    );
    assert_eq!(json["spans"]["rejected"], 0, "{}", json["spans"]);
    assert_eq!(
        json["traces"].as_u64(),
        Some(total + 1),
        "summary traces vs the Traces title"
    );
    assert_eq!(
        json["requests"]["http"], 3,
        "our three OTLP/HTTP requests: {}",
        json["requests"]
    );
    assert!(
        json["requests"]["grpc"].as_u64().is_some_and(|n| n > 0),
        "{}",
        json["requests"]
    );
    let gpt4o_calls = json["by_model"]
        .as_array()
        .expect("by_model")
        .iter()
        .find(|m| m["model"] == MODEL)
        .and_then(|m| m["calls"].as_u64());
    assert!(
        gpt4o_calls.is_some_and(|n| n >= 6 * PER_TRACE as u64),
        "by_model lacks our {MODEL} calls: {}",
        json["by_model"]
    );
    println!(
        "tmux_e2e: up in {:.1}s, {held} spans in {} traces ({matching} matched model:{MODEL}), \
         top rate seen {top_rate} spans/s, total {:.1}s",
        startup.as_secs_f64(),
        total + 1,
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn replay_in_tmux_shows_its_position_and_obeys_pause_and_speed() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(25);
    let dir = tempfile::tempdir().unwrap();
    let long = long_dir(&dir);
    let summary = long.join("summary.json");
    let capture = copy_demo("capture.jsonl.gz", &long);
    let tmux = Tmux::new();
    let command = format!(
        "TERM=xterm-256color {} replay --speed 5 {} --summary {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        shell_quote(&capture),
        shell_quote(summary.to_str().expect("UTF-8 temp path")),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "40",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    // The badge: REPLAY, the speed, the event-time clock and the share read. The path shows as
    // `…/capture.jsonl.gz`, or cut to `…/capture.jsonl…` once the spend and rate segments need
    // the room (both are forms of the squeeze table).
    let screen = tmux.wait_for("the REPLAY badge with speed and progress", deadline, |s| {
        let status = s.lines().next().unwrap_or("");
        status.contains("REPLAY 5x ") && status.contains("%)") && status.contains("…/capture.jsonl")
    });
    // The long path gave way, not the counters (in their full or shortened form).
    let status = screen.lines().next().unwrap_or("");
    for counter in ["buf ", "evict", "drop", "rej"] {
        assert!(status.contains(counter), "{counter} missing:\n{screen}");
    }
    assert!(screen.contains("Traces · sort:"), "{screen}");
    // The footer names the replay's own keys.
    let footer = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        footer.contains("p pause") && footer.contains("+/- speed"),
        "replay keys missing from the footer:\n{screen}"
    );
    tmux.keys(&["+"]);
    tmux.wait_for("the speed to step up to 10x", deadline, |s| {
        s.contains("REPLAY 10x ")
    });
    tmux.keys(&["p"]);
    tmux.wait_for("the replay to pause", deadline, |s| s.contains("REPLAY PAUSED"));
    // Paused: nothing more is fed. The buffer figure refreshes once a second, so wait for it,
    // then watch it stay put for longer than that.
    let paused = tmux.wait_for("the buffer figure", deadline, |s| {
        buf_count(s).is_some_and(|n| n > 0)
    });
    std::thread::sleep(Duration::from_millis(1200));
    let held = buf_count(&tmux.capture());
    std::thread::sleep(Duration::from_millis(1500));
    let still = tmux.capture();
    assert_eq!(
        buf_count(&still),
        held,
        "paused replay kept feeding:\n{paused}\n{still}"
    );
    tmux.keys(&["p"]);
    tmux.wait_for("the replay to resume", deadline, |s| s.contains("REPLAY 10x "));
    // Enter opens the selected trace: header, span tree and detail; Esc comes back.
    tmux.keys(&["Enter"]);
    let open = tmux.wait_for("the drill-down", deadline, |s| {
        s.contains("Spans ") && s.contains("Detail ") && s.contains("Identity")
    });
    assert!(
        open.lines().any(|l| l.trim_start().starts_with("trace ")),
        "{open}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the dashboard again", deadline, |s| s.contains("Traces · sort:"));
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written")).unwrap();
    assert!(json["spans"]["accepted"].as_u64().unwrap() > 0, "{json}");
}

#[test]
fn alert_rules_on_the_real_screen() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(25);
    let dir = tempfile::tempdir().unwrap();
    let long = long_dir(&dir);
    let summary = long.join("summary.json");
    let tmux = Tmux::new();
    let command = format!(
        "TERM=xterm-256color {} replay --speed max {} --rules {} --summary {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        shell_quote(&copy_demo("capture.jsonl.gz", &long)),
        shell_quote(&copy_demo("alerts.toml", &long)),
        shell_quote(summary.to_str().expect("UTF-8 temp path")),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "48",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    // The whole capture is read at once: the groundedness drop is still firing at its end, the
    // cost spike and the slow model have resolved.
    let screen = tmux.wait_for("the alerts strip with all three alerts", deadline, |s| {
        s.contains("● FIRING   groundedness-drop tenant=globex")
            && s.contains("✓ resolved cost-spike route=/support/refund")
            && s.contains("✓ resolved slow-first-token model=claude-sonnet-4-5")
    });
    let status = screen.lines().next().unwrap_or("");
    assert!(
        status.contains("▲ 1 ALERT groundedness-drop tenant=globex"),
        "{screen}"
    );
    assert!(screen.contains("Alerts · 6 rules · 1 firing"), "{screen}");
    // Focus the strip (Tab from the list wraps to it) and open the firing alert's example trace.
    tmux.keys(&["Tab", "Enter"]);
    let open = tmux.wait_for("an example trace", deadline, |s| {
        s.contains("Spans ") && s.contains("Identity")
    });
    assert!(
        open.contains("globex"),
        "the example is one of globex's traces:\n{open}"
    );
    tmux.keys(&["Escape", "q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written")).unwrap();
    let rules: Vec<&str> = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["cost-spike", "slow-first-token", "groundedness-drop"],
        "{json}"
    );
}

impl Tmux {
    /// The pane's terminal state: `alternate_on cursor_flag mouse_any_flag` (`1 0 1` while the
    /// dashboard owns it, `0 1 0` once it is handed back).
    fn term_state(&self) -> String {
        let out = self.run(&[
            "display-message",
            "-p",
            "-t",
            SESSION,
            "#{alternate_on} #{cursor_flag} #{mouse_any_flag}",
        ]);
        assert!(out.status.success(), "display-message failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls until the pane's terminal state is `want`.
    fn wait_state(&self, want: &str, what: &str, deadline: Instant) {
        loop {
            let now = self.term_state();
            if now == want {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}: terminal state {now:?}, want {want:?}; the screen:\n{}",
                    self.capture()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The pid written by the replay command line of the signal tests.
fn read_pid(path: &std::path::Path, deadline: Instant) -> String {
    loop {
        if let Ok(pid) = std::fs::read_to_string(path)
            && !pid.trim().is_empty()
        {
            return pid.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(signal: &str, pid: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), pid])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// A replay on the screen, started through `sh -c` that writes its pid to `pid` and then
/// becomes llmwatch (exec), so that signals reach llmwatch itself.
fn replay_command(capture: &str, summary: &std::path::Path, pid: &std::path::Path) -> String {
    format!(
        "TERM=xterm-256color sh -c 'echo $$ > \"$0\"; exec \"$@\"' {} {} replay --speed 1 {} --summary {}",
        shell_quote(pid.to_str().expect("UTF-8 temp path")),
        shell_quote(BIN),
        shell_quote(capture),
        shell_quote(summary.to_str().expect("UTF-8 temp path")),
    )
}

/// SIGHUP (what an ssh disconnect sends) and SIGQUIT finish like SIGTERM on the screen: the
/// terminal is handed back (main screen, cursor shown, no mouse reporting), exit 0, summary
/// written. They used to kill the process and leave the pane on the alternate screen.
#[test]
fn hangup_and_quit_restore_the_terminal_and_write_the_summary() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    for signal in ["HUP", "QUIT"] {
        let deadline = Instant::now() + Duration::from_secs(20);
        let dir = tempfile::tempdir().unwrap();
        let (summary, pid) = (dir.path().join("summary.json"), dir.path().join("pid"));
        let capture = copy_demo("capture.jsonl.gz", dir.path());
        let command = format!(
            "{}; echo EXITED=$?; sleep 120",
            replay_command(&capture, &summary, &pid)
        );
        let tmux = Tmux::new();
        tmux.ok(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "120",
            "-y",
            "40",
            "-e",
            "TERM=xterm-256color",
            &command,
        ]);
        tmux.wait_for("the dashboard", deadline, |s| s.contains("Traces · sort:"));
        tmux.wait_state("1 0 1", "the dashboard to own the terminal", deadline);
        kill(signal, &read_pid(&pid, deadline));
        let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
        assert!(end.contains("EXITED=0"), "SIG{signal}:\n{end}");
        tmux.wait_state("0 1 0", "the terminal handed back", deadline);
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&summary).unwrap_or_else(|e| panic!("SIG{signal}: no summary: {e}")),
        )
        .unwrap();
        assert!(json["spans"]["accepted"].as_u64().is_some(), "{json}");
    }
}

/// The terminal going away without a SIGHUP reaching llmwatch (here: its tmux server killed,
/// which closes the pty): the dashboard stops as a hang-up would, summary written, instead of
/// polling a dead terminal at full CPU forever (it did: the input thread spun at 100%).
#[test]
fn a_terminal_that_goes_away_ends_the_dashboard_with_its_summary() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let (summary, pid) = (dir.path().join("summary.json"), dir.path().join("pid"));
    let capture = copy_demo("capture.jsonl.gz", dir.path());
    let tmux = Tmux::new();
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "40",
        "-e",
        "TERM=xterm-256color",
        &replay_command(&capture, &summary, &pid),
    ]);
    tmux.wait_for("the dashboard", deadline, |s| s.contains("Traces · sort:"));
    let pid = read_pid(&pid, deadline);
    let _ = tmux.run(&["kill-server"]);
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    while proc_dir.exists() {
        assert!(
            Instant::now() < deadline,
            "llmwatch {pid} still runs after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("the summary is written")).unwrap();
    assert!(json["spans"]["accepted"].as_u64().is_some(), "{json}");
}

/// Job control from an interactive shell: Ctrl-Z (a key in raw mode) and SIGTSTP (`kill -TSTP`)
/// hand the terminal back and stop the process, the shell's prompt is usable; `fg` brings the
/// dashboard back redrawn, in raw mode (a single `?` opens the help, no Enter needed).
#[test]
fn ctrl_z_and_sigtstp_suspend_and_fg_resumes() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let (summary, pid) = (dir.path().join("summary.json"), dir.path().join("pid"));
    let capture = copy_demo("capture.jsonl.gz", dir.path());
    let tmux = Tmux::new();
    // No command: the pane runs an interactive /bin/sh, which has job control.
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "40",
        "-e",
        "TERM=xterm-256color",
    ]);
    tmux.wait_for("the shell prompt", deadline, |s| {
        s.contains('$') || s.contains('#')
    });
    tmux.type_text(&replay_command(&capture, &summary, &pid));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the dashboard", deadline, |s| s.contains("Traces · sort:"));
    tmux.wait_state("1 0 1", "the dashboard to own the terminal", deadline);
    let pid = read_pid(&pid, deadline);
    let stopped = |how: &str| {
        tmux.wait_state(
            "0 1 0",
            &format!("the terminal handed back after {how}"),
            deadline,
        );
        // The process is stopped (T), not merely idle.
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            if state == Some(Some('T')) {
                break;
            }
            assert!(Instant::now() < deadline, "not stopped after {how}: {stat}");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The shell has the terminal: what is typed is echoed and run.
        tmux.type_text("echo shell-$((6*7))");
        tmux.keys(&["Enter"]);
        tmux.wait_for("the shell to answer", deadline, |s| s.contains("shell-42"));
    };
    let resumed = |how: &str| {
        tmux.type_text("fg");
        tmux.keys(&["Enter"]);
        tmux.wait_state("1 0 1", &format!("the dashboard back after {how}"), deadline);
        tmux.wait_for("the dashboard redrawn", deadline, |s| {
            s.contains("Traces · sort:") && !s.contains("shell-42")
        });
        // Raw mode again: one key acts at once.
        tmux.keys(&["?"]);
        tmux.wait_for("the help overlay", deadline, |s| s.contains(" Keys "));
        tmux.keys(&["Escape"]);
        tmux.wait_for("the help overlay to close", deadline, |s| !s.contains(" Keys "));
    };
    tmux.keys(&["C-z"]);
    stopped("Ctrl-Z");
    resumed("Ctrl-Z");
    kill("TSTP", &pid);
    stopped("SIGTSTP");
    resumed("SIGTSTP");
    tmux.keys(&["q"]);
    tmux.wait_state("0 1 0", "the terminal handed back at the end", deadline);
    tmux.type_text("echo EXITED=$?");
    tmux.keys(&["Enter"]);
    let end = tmux.wait_for("the exit status", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
    assert!(summary.exists(), "summary written");
}

/// `llmwatch replay --speed max CAPTURE --reviews FILE` in a new 160x48 session.
fn start_review_replay(tmux: &Tmux, capture: &str, reviews: &std::path::Path) {
    let command = format!(
        "TERM=xterm-256color {} replay --speed max {} --reviews {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        shell_quote(capture),
        shell_quote(reviews.to_str().expect("UTF-8 temp path")),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        // Wide enough for a model call's row to show its judge's badge and the human one.
        "-x",
        "320",
        "-y",
        "48",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
}

/// The review queue's row (0 = first) marked reviewed, if one is on screen.
fn reviewed_row(screen: &str) -> Option<usize> {
    let mut lines = screen
        .lines()
        .skip_while(|l| !(l.contains("why") && l.contains("worst verdict")));
    lines.next()?;
    lines
        .take_while(|l| l.starts_with('┃'))
        .position(|l| l.contains("reviewed"))
}

#[test]
fn a_review_made_on_the_screen_is_written_and_shows_again_after_a_restart() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    let dir = tempfile::tempdir().unwrap();
    let capture = copy_demo("capture.jsonl.gz", dir.path());
    let reviews = dir.path().join("state").join("reviews.jsonl");
    let badge = |s: &str| s.contains("👤 fail stale-policy") || s.contains("[human] fail stale-policy");
    let tmux = Tmux::new();
    start_review_replay(&tmux, &capture, &reviews);
    tmux.wait_for("the replay to finish", deadline, |s| {
        s.contains("REPLAY DONE") && s.contains("Traces · sort:")
    });
    tmux.keys(&["R"]);
    // The demo's failures are queued (failure-biased retention); review the first row: fail,
    // a label, a note, Enter. Replays are deterministic, so after the restart the same trace
    // heads the queue (its first reason is still the failed verdict, above `human`).
    tmux.wait_for("the review queue", deadline, |s| {
        s.contains("Review queue") && s.contains("failed eval")
    });
    tmux.settle(deadline);
    tmux.keys(&["r"]);
    tmux.wait_for("the review form", deadline, |s| s.contains("Review span"));
    tmux.keys(&["f"]);
    tmux.type_text("stale-policy");
    tmux.keys(&["Tab"]);
    tmux.type_text("quotes the old refund policy");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the saved note", deadline, |s| s.contains("review saved"));
    let text = std::fs::read_to_string(&reviews).expect("the reviews file is written");
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let record = &line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(record["eventName"], "gen_ai.evaluation.result", "{line}");
    assert_eq!(record["traceId"].as_str().map(str::len), Some(32), "{line}");
    assert!(
        text.contains("quotes the old refund policy") && text.contains("HUMAN"),
        "{text}"
    );
    // The trace is in the queue now, reviewed; its drill-down shows the badge.
    // The form closes onto the queue, its selection still on the reviewed trace.
    tmux.wait_for("the reviewed row", deadline, |s| reviewed_row(s).is_some());
    tmux.keys(&["Enter"]);
    tmux.wait_for("the badge in the drill-down", deadline, badge);
    tmux.keys(&["Escape"]);
    tmux.wait_for("the queue again", deadline, |s| s.contains("Review queue"));
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");

    // Again with the same reviews file: the review is read back before the traffic.
    // (A tmux server of its own: the first one exits with its last session.)
    drop(tmux);
    let tmux = Tmux::new();
    start_review_replay(&tmux, &capture, &reviews);
    tmux.wait_for("the second replay to finish", deadline, |s| {
        s.contains("REPLAY DONE")
    });
    tmux.keys(&["R"]);
    tmux.wait_for("the reviewed row after the restart", deadline, |s| {
        reviewed_row(s).is_some()
    });
    let row = reviewed_row(&tmux.settle(deadline)).expect("the reviewed row stays listed");
    for _ in 0..row {
        tmux.keys(&["Down"]);
    }
    tmux.keys(&["Enter"]);
    let open = tmux.wait_for("the badge after the restart", deadline, badge);
    assert!(open.contains("Spans "), "{open}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the queue after the restart", deadline, |s| {
        s.contains("Review queue")
    });
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
    assert_eq!(
        std::fs::read_to_string(&reviews).unwrap(),
        text,
        "loading appends nothing"
    );
}

/// The views on the number keys and the jump to a trace by id on the real screen: a replay
/// started with `--open PREFIX` (the id's first 8 hex digits) opens on that trace; `3` logs, `4` metrics, `1` overview,
/// each named in the footer; `/trace:PREFIX` Enter opens the one trace it matches. An id that
/// is not in the files is said on the footer once the replay is done.
#[test]
fn number_keys_views_and_trace_jump_in_tmux() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let dir = tempfile::tempdir().unwrap();
    let capture = copy_demo("capture.jsonl.gz", dir.path());
    // Two trace ids from the capture: one to open at start, one to jump to with the filter.
    let (code, spans, err) = common::run_llmwatch(&["report", "--spans", &capture]);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<String> = spans
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["trace_id"].as_str().map(str::to_string))
        .collect();
    let (first, jump) = (
        ids[0].clone(),
        ids.iter().rev().find(|i| **i != ids[0]).unwrap().clone(),
    );
    let tmux = Tmux::new();
    let command = format!(
        "TERM=xterm-256color {} replay --speed max --open {} {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        &first[..8],
        shell_quote(&capture),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "48",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    tmux.wait_for("the drill-down of the --open trace", deadline, |s| {
        s.contains("Spans ") && s.contains(&first)
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the overview", deadline, |s| {
        s.contains("Traces · sort:") && s.contains("[1 overview] 2 sessions 3 logs 4 metrics")
    });
    tmux.keys(&["3"]);
    tmux.wait_for("the logs view", deadline, |s| {
        s.contains("Logs · newest first") && s.contains("[3 logs]") && s.contains("gen_ai.evaluation")
    });
    tmux.keys(&["4"]);
    tmux.wait_for("the metrics view", deadline, |s| {
        s.contains("┏ Metrics") && s.contains("[4 metrics]")
    });
    tmux.keys(&["1"]);
    // The trace to jump to is the capture's last: wait until it has been read.
    tmux.wait_for("the overview again, the replay done", deadline, |s| {
        s.contains("Traces · sort:") && s.contains("REPLAY DONE")
    });
    tmux.keys(&["/"]);
    tmux.type_text(&format!("trace:{}", &jump[..12]));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the drill-down of the trace typed", deadline, |s| {
        s.contains("Spans ") && s.contains(&jump)
    });
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");

    // An id the files do not hold: said once everything is read.
    let missing = "0123456789abcdef0123456789abcdef";
    let deadline = Instant::now() + Duration::from_secs(90);
    let tmux = Tmux::new();
    let command = format!(
        "TERM=xterm-256color {} replay --speed max --open {missing} {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        shell_quote(&capture),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "48",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    tmux.wait_for("the note that the trace never arrived", deadline, |s| {
        s.contains(&format!(
            "no trace matches {missing} in the replayed files (--open)"
        ))
    });
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
}

#[test]
fn sessions_compare_and_the_genai_tree_on_the_real_screen() {
    if !tmux_installed() {
        println!("SKIPPED tmux_e2e: tmux is not installed (CI installs it; `apt-get install tmux` here)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    let dir = tempfile::tempdir().unwrap();
    let capture = copy_demo("capture.jsonl.gz", dir.path());
    let tmux = Tmux::new();
    let command = format!(
        "TERM=xterm-256color {} replay --speed max {}; echo EXITED=$?; sleep 120",
        shell_quote(BIN),
        shell_quote(&capture),
    );
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "160",
        "-y",
        "48",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    tmux.wait_for("the replay to finish", deadline, |s| s.contains("DONE"));
    // 2: the sessions, one row per session with its turns.
    tmux.keys(&["2"]);
    let list = tmux.wait_for("the sessions list", deadline, |s| {
        s.contains("Sessions ·") && s.contains("sess-")
    });
    assert!(list.contains("turns") && list.contains("failed"), "{list}");
    // Enter: the selected session as a conversation, opened on its newest turn.
    tmux.keys(&["Enter"]);
    let conversation = tmux.wait_for("the conversation", deadline, |s| {
        s.contains("Session sess-") && s.contains("▶ turn")
    });
    assert!(
        conversation.contains("user") && conversation.contains("assistant"),
        "{conversation}"
    );
    // = marks the turn; on a session of one turn the trace list gives the second trace.
    tmux.keys(&["="]);
    tmux.wait_for("the mark", deadline, |s| s.contains("marked trace"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the sessions list again", deadline, |s| s.contains("Sessions ·"));
    tmux.keys(&["1"]);
    tmux.wait_for("the overview", deadline, |s| s.contains("Traces · sort:"));
    tmux.keys(&["j"]);
    tmux.keys(&["="]);
    let compare = tmux.wait_for("the comparison", deadline, |s| s.contains("Compare A ↔ B"));
    assert!(compare.contains(" A ") && compare.contains(" B "), "{compare}");
    // = in the comparison clears the mark and goes back.
    tmux.keys(&["="]);
    tmux.wait_for("the overview after the comparison", deadline, |s| {
        s.contains("Traces · sort:") && s.contains("compare mark cleared")
    });
    // a in the drill-down: the GenAI-only tree, and back.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the drill-down", deadline, |s| {
        s.contains("Spans ") && s.contains("Identity")
    });
    tmux.keys(&["a"]);
    tmux.wait_for("the GenAI-only tree", deadline, |s| s.contains("GenAI spans "));
    tmux.keys(&["a"]);
    tmux.wait_for("the whole tree", deadline, |s| !s.contains("GenAI spans "));
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    let end = tmux.wait_for("llmwatch to exit", deadline, |s| s.contains("EXITED="));
    assert!(end.contains("EXITED=0"), "{end}");
}
