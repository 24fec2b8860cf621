//! The status bar alone on ratatui's `TestBackend` at 40 to 160 columns: whatever the origin
//! (a replay of a very long absolute path, of several files, a live run on long listen
//! addresses) and a firing alert, the badge, `buf` and the loss counters are always on screen;
//! the origin shortens first (`…/capture.jsonl.gz`, `3 files`, ports only), then goes.

use llmwatch::ui::panes::render_status;
use llmwatch::ui::theme::Theme;
use llmwatch::ui::view::{AlertLine, AlertsView, Source, StatusView, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTHS: [u16; 6] = [40, 60, 80, 100, 120, 160];

fn long_path() -> String {
    let dirs = "/home/someone/work/clients/acme-corporation/projects/agent-platform/\
                observability/captures/2026/12/07/production-eu-west-1/incident-4711";
    let path = format!("{dirs}/capture.jsonl.gz");
    assert!(path.len() > 150, "{}", path.len());
    path
}

fn replay(files: Vec<String>) -> Source {
    Source::Replay {
        files,
        speed: "10x".into(),
        paused: true,
        done: false,
        progress: Some(0.42),
    }
}

/// Counters with figures of every size fmt_count writes.
fn view(source: Source) -> View {
    View {
        status: StatusView {
            source: Some(source),
            spans_per_sec: 1234.0,
            traces_per_sec: 56.7,
            spans_held: 187_654,
            max_spans: 200_000,
            evicted: 12_345,
            dropped: 3,
            rejected: 1_234_567,
            clock: Some(1_800_000_000),
            ..StatusView::default()
        },
        ..View::default()
    }
}

fn bar(view: &View, width: u16) -> String {
    let theme = Theme::load(None).unwrap();
    let mut t = Terminal::new(TestBackend::new(width, 1)).unwrap();
    t.draw(|f| render_status(f, f.area(), view, &theme)).unwrap();
    let buf = t.backend().buffer();
    (0..width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect::<String>()
}

/// The bar at every width, one line each, after checking the counters are on every line.
fn bars(view: &View) -> String {
    let mut out = String::new();
    for w in WIDTHS {
        let line = bar(view, w);
        assert!(line.contains("buf 94%"), "{w}: buf missing: {line}");
        // Evicted, dropped and rejected, in whichever form fits.
        let dropped = [" 3 ", "d3 "].iter().any(|d| line.contains(d));
        assert!(
            line.contains("12.3k") && dropped && line.contains("1.2M"),
            "{w}: loss counters missing: {line}"
        );
        out.push_str(&format!("{w:>3} |{line}|\n"));
    }
    out
}

#[test]
fn replay_of_a_long_absolute_path() {
    let v = view(replay(vec![long_path()]));
    let s = bars(&v);
    assert!(s.contains("…/capture.jsonl.gz"), "{s}");
    assert!(bar(&v, 160).contains("buf 94% 187.7k/200.0k"), "{s}");
    insta::assert_snapshot!("replay_long_path", s);
}

#[test]
fn replay_of_three_files() {
    let files = (1..=3).map(|i| format!("{}-{i}", long_path())).collect();
    let s = bars(&view(replay(files)));
    assert!(s.contains("3 files"), "{s}");
    insta::assert_snapshot!("replay_three_files", s);
}

#[test]
fn live_on_long_listen_addresses() {
    let listen = vec![
        "grpc [fd00:1234:5678:9abc:def0:1234:5678:9abc]:4317".to_string(),
        "http [fd00:1234:5678:9abc:def0:1234:5678:9abc]:4318".to_string(),
    ];
    let s = bars(&view(Source::Live { listen }));
    assert!(s.contains("grpc :4317 · http :4318"), "{s}");
    insta::assert_snapshot!("live_long_listen", s);
}

#[test]
fn firing_alert_with_a_long_replay_path() {
    let mut v = view(replay(vec![long_path()]));
    v.alerts = Some(AlertsView {
        rules: 2,
        firing: 2,
        lines: vec![AlertLine {
            firing: true,
            rule: "cost-spike".into(),
            cohort: "route=/support/refund/with/a/long/route".into(),
            ..AlertLine::default()
        }],
        ..AlertsView::default()
    });
    let s = bars(&v);
    assert!(
        s.lines().all(|l| l.contains("▲ 2 ALERTS") || l.contains("▲2")),
        "{s}"
    );
    assert!(bar(&v, 160).contains("▲ 2 ALERTS cost-spike route="), "{s}");
    insta::assert_snapshot!("alert_long_path", s);
}

/// `--forward`: the bytes waiting give way early; a retrying or full queue stays, in its most
/// compact form at 40 columns.
#[test]
fn live_forwarding_states() {
    use llmwatch::forward::ForwardState;
    let listen = vec![
        "grpc 127.0.0.1:4317".to_string(),
        "http 127.0.0.1:4318".to_string(),
    ];
    let mut out = String::new();
    for (name, state) in [
        ("sending", ForwardState::Sending(3 << 20)),
        ("retrying", ForwardState::Retrying),
        ("full", ForwardState::Full),
    ] {
        let mut v = view(Source::Live {
            listen: listen.clone(),
        });
        v.status.forward = Some(state);
        let s = bars(&v);
        match state {
            ForwardState::Sending(_) => assert!(bar(&v, 160).contains("fwd 3.0 MiB"), "{s}"),
            ForwardState::Retrying => {
                assert!(
                    s.lines().all(|l| l.contains("fwd RETRY") || l.contains("fwdR")),
                    "{s}"
                )
            }
            ForwardState::Full => {
                assert!(
                    s.lines().all(|l| l.contains("fwd FULL") || l.contains("fwdF")),
                    "{s}"
                )
            }
        }
        out.push_str(&format!("{name}\n{s}"));
    }
    insta::assert_snapshot!("live_forwarding", out);
}
