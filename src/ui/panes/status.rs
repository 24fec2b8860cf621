//! The top line: where data comes from and its state, rates, buffer fill, what was lost, and
//! the event-time clock.
//!
//! Every segment has forms from its fullest to its most compact, each shown only while the line
//! is squeezed less than that form's `until` level. The line is laid out at squeeze 0 (every
//! segment at full length), then at each `until` level in turn, until it fits. So what matters
//! least gives way first and shortens before it goes; the badge, the alert count, `buf` and the
//! loss counters never go. The order in which things give way:
//!
//! | squeeze | what gives way                                                              |
//! |---------|-----------------------------------------------------------------------------|
//! | 10      | the origin at full length: replayed path(s), listen addresses, demo text    |
//! | 20      | listen addresses shorten to their ports (`grpc :4317 · http :4318`)         |
//! | 30      | rates shorten to `N spans/s`                                                |
//! | 32      | the spend headline shortens to `$1.84 · $22/h` (tokens/min, error % go)     |
//! | 35      | the replayed file's `…/capture.jsonl.gz` is cut to 16 columns               |
//! | 40      | losses shorten to `evict N drop N rej N`                                    |
//! | 38, 55  | the recording's size shortens to `rec`, then goes (`rec BEHIND` / `rec ERROR` stay) |
//! | 39, 56  | the forwarding queue's size shortens to `fwd`, then goes (`fwd RETRY` / `fwd FULL` stay) |
//! | 37, 57  | `⚠ N notices: latest line` loses the line, then shortens to `⚠N`            |
//! | 36      | `baseline: …/base.jsonl` is cut to 16 columns                               |
//! | 42      | the origin goes: file name, `N files`, listen ports, demo note              |
//! | 43      | the spend headline goes                                                     |
//! | 44      | `baseline: FILE` / `baseline: N files` goes                                 |
//! | 45      | rates go                                                                    |
//! | 50      | the live clock goes                                                         |
//! | 60      | `buf` shortens to `buf N%`                                                  |
//! | 62      | losses shorten to `ev N dr N rj N`                                          |
//! | 65      | the alert banner keeps only its count (`▲ 2 ALERTS`)                        |
//! | 70, 75  | the badge loses the replay clock, then the progress                         |
//! | 80      | separators narrow to one column, the badge loses its padding                |
//! | 85      | losses shorten to `eN dN rN`                                                |
//! | 88      | the alert banner shortens to `▲2`                                           |
//!
//! So: badge and alert count > `buf` > the loss counters > rates > clock > spend > origin. Room left
//! once the line fits goes back to what gave way, the last to give way first.
//! Past that the line is cut at the right edge (only with loss counters in the millions at
//! 40 columns or fewer). A new segment (say the recording's state) picks its `until` levels
//! against this table.

use crate::forward::ForwardState;
use crate::ingest::record::RecordState;
use crate::ui::text::{clean, fit as fit_text, fmt_clock, fmt_count};
use crate::ui::theme::Theme;
use crate::ui::view::{Source, View};
use ratatui::Frame;
use ratatui::buffer::CellWidth;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Shown at every squeeze.
const ALWAYS: u8 = u8::MAX;
/// From this squeeze on, separators are one column wide and texts lose their padding.
const NARROW: u8 = 80;
/// The width the replayed file's last component is cut to before it goes.
const FILE_CUT: usize = 16;

/// One form of a segment: its text and the squeeze level from which it is no longer shown.
struct Form {
    until: u8,
    text: String,
}

/// A part of the status bar, in its forms from the fullest to the most compact.
struct Segment {
    forms: Vec<Form>,
    style: Style,
    /// Drawn at the right end, apart from the others (the clock).
    right: bool,
}

impl Segment {
    fn new(style: Style, forms: impl IntoIterator<Item = (u8, String)>) -> Self {
        let mut forms: Vec<Form> = forms
            .into_iter()
            .map(|(until, text)| Form { until, text })
            .collect();
        // A shorter form that says the same as the one before it is only noise in the search.
        forms.dedup_by(|later, earlier| {
            later.text == earlier.text && {
                earlier.until = earlier.until.max(later.until);
                true
            }
        });
        Self {
            forms,
            style,
            right: false,
        }
    }

    fn at_right(mut self) -> Self {
        self.right = true;
        self
    }

    /// The form shown at `squeeze`, if any.
    fn form(&self, squeeze: u8) -> Option<&str> {
        self.forms
            .iter()
            .find(|f| squeeze < f.until)
            .map(|f| f.text.as_str())
    }
}

/// Display width in terminal columns, measured as ratatui's buffer measures it.
fn width(s: &str) -> usize {
    usize::from(s.cell_width())
}

/// A path's last component behind `…/` (`/a/b/capture.jsonl.gz` -> `…/capture.jsonl.gz`), or
/// the path itself when it has no directory part.
pub fn last_component(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((_, last)) if !last.is_empty() => format!("…/{last}"),
        _ => path.to_string(),
    }
}

/// What is replayed, from the full list down to its most compact form.
fn replay_origin(files: &[String]) -> Vec<(u8, String)> {
    let full = files.iter().map(|f| clean(f)).collect::<Vec<_>>().join(" ");
    match files {
        [] => vec![],
        [one] => {
            let short = last_component(&clean(one));
            vec![(10, full), (35, short.clone()), (42, fit_text(&short, FILE_CUT))]
        }
        many => vec![(10, full), (42, format!("{} files", many.len()))],
    }
}

/// Listen addresses (`grpc 127.0.0.1:4317`), then only their ports (`grpc :4317`).
fn listen_origin(listen: &[String]) -> Vec<(u8, String)> {
    let ports = listen
        .iter()
        .map(|l| match l.rsplit_once(':') {
            Some((head, port)) => match head.split_once(' ') {
                Some((proto, _)) => format!("{proto} :{port}"),
                None => format!(":{port}"),
            },
            None => l.clone(),
        })
        .collect::<Vec<_>>();
    vec![
        (10, clean(&listen.join(" · ")).into_owned()),
        (42, clean(&ports.join(" · ")).into_owned()),
    ]
}

fn loss_forms(evicted: u64, dropped: u64, rejected: u64) -> Vec<(u8, String)> {
    let (e, d, r) = (fmt_count(evicted), fmt_count(dropped), fmt_count(rejected));
    vec![
        (40, format!("evicted {e} dropped {d} rejected {r}")),
        (62, format!("evict {e} drop {d} rej {r}")),
        (85, format!("ev {e} dr {d} rj {r}")),
        (ALWAYS, format!("e{e} d{d} r{r}")),
    ]
}

/// The segments in screen order.
fn segments(view: &View, theme: &Theme) -> Vec<Segment> {
    let s = &view.status;
    let mut origin = Vec::new();
    let (badge, badge_style) = match &s.source {
        Some(Source::Replay {
            files,
            speed,
            paused,
            done,
            progress,
        }) => {
            let state = if *paused {
                "PAUSED"
            } else if *done {
                "DONE"
            } else {
                speed
            };
            let bare = format!(" REPLAY {state} ");
            let progress = progress.map(|p| format!("({:.0}%)", p * 100.0));
            let clock = s.clock.map(fmt_clock);
            let full = [Some(format!("REPLAY {state}")), clock, progress.clone()];
            let full = format!(" {} ", full.into_iter().flatten().collect::<Vec<_>>().join(" "));
            let with_progress = match progress {
                Some(p) => format!(" REPLAY {state} {p} "),
                None => bare.clone(),
            };
            origin = replay_origin(files);
            (
                vec![(70, full), (75, with_progress), (ALWAYS, bare)],
                theme.badge_replay,
            )
        }
        Some(Source::Demo { rate }) => {
            origin = vec![
                (10, format!("built-in traffic, {rate} spans/s of event time")),
                (42, "built-in traffic".to_string()),
            ];
            (vec![(ALWAYS, " DEMO ".to_string())], theme.badge_live)
        }
        Some(Source::Live { listen }) => {
            origin = listen_origin(listen);
            (vec![(ALWAYS, " LIVE ".to_string())], theme.badge_live)
        }
        None => (vec![(ALWAYS, " LIVE ".to_string())], theme.badge_live),
    };
    let (badge, badge_style) = if s.frozen {
        (
            // The count is of spans (what the receivers count), said so.
            vec![(
                ALWAYS,
                format!(" PAUSED +{} spans ", fmt_count(s.arrived_while_frozen)),
            )],
            theme.badge_paused,
        )
    } else {
        (badge, badge_style)
    };
    let fill = if s.max_spans > 0 {
        s.spans_held as f64 / s.max_spans as f64 * 100.0
    } else {
        0.0
    };
    let lost = s.evicted + s.dropped + s.rejected;
    let replay = matches!(s.source, Some(Source::Replay { .. }));
    let demo = matches!(s.source, Some(Source::Demo { .. }));
    let mut out = vec![Segment::new(badge_style, badge)];
    // A firing alert matters more than anything after the badge.
    if let Some(a) = &view.alerts
        && a.firing > 0
    {
        let first = a.lines.iter().find(|l| l.firing);
        let what = first.map_or(String::new(), |l| {
            format!(
                " {}{}{}",
                clean(&l.rule),
                if l.cohort.is_empty() { "" } else { " " },
                clean(&l.cohort)
            )
        });
        let n = if a.firing == 1 {
            "1 ALERT".to_string()
        } else {
            format!("{} ALERTS", a.firing)
        };
        out.push(Segment::new(
            theme.alert,
            [
                (65, format!(" ▲ {n}{what} ")),
                (88, format!(" ▲ {n} ")),
                (ALWAYS, format!("▲{}", a.firing)),
            ],
        ));
    }
    // What is replayed is told before the rates; where a live run listens, at the end.
    let origin = Segment::new(theme.muted, origin);
    let mut origin = Some(origin).filter(|o| !o.forms.is_empty());
    if replay && let Some(o) = origin.take() {
        out.push(o);
    }
    // Replayed or generated traffic runs on its own clock: the receive rate (wall clock) and
    // the chart's rate (event time) differ, so both are said and labelled.
    let event = view.volume.event_rate.filter(|_| replay || demo);
    out.push(Segment::new(
        theme.status_bar,
        match event {
            Some(e) => vec![
                (
                    30,
                    format!(
                        "{:.0} spans/s · {:.1}/s wall · {e:.1}/s event",
                        s.spans_per_sec, s.traces_per_sec
                    ),
                ),
                // Squeezed, the chart's own rate stays (what a replayed path gives way after).
                (45, format!("{e:.1}/s event")),
            ],
            None => vec![
                (
                    30,
                    format!("{:.0} spans/s {:.1} traces/s", s.spans_per_sec, s.traces_per_sec),
                ),
                (45, format!("{:.0} spans/s", s.spans_per_sec)),
            ],
        },
    ));
    // What the window's traffic costs, once there is any.
    let v = &view.volume;
    if v.traces > 0 {
        let full = format!(
            "{} · {} tok/min · {:.1}% err",
            v.spend_text(),
            fmt_count(v.tokens_per_min().round() as u64),
            v.error_pct().unwrap_or(0.0)
        );
        out.push(Segment::new(theme.status_bar, [(32, full), (43, v.spend_text())]));
    }
    // `--baseline`: what the panes compare against; gives way after the origin, before rates.
    match s.baseline.as_slice() {
        [] => {}
        [one] => {
            let short = last_component(&clean(one));
            out.push(Segment::new(
                theme.muted,
                [
                    (36, format!("baseline: {short}")),
                    (44, format!("baseline: {}", fit_text(&short, FILE_CUT))),
                ],
            ));
        }
        many => out.push(Segment::new(
            theme.muted,
            [(44, format!("baseline: {} files", many.len()))],
        )),
    }
    out.push(Segment::new(
        if fill >= 90.0 {
            theme.warn
        } else {
            theme.status_bar
        },
        [
            (
                60,
                format!(
                    "buf {fill:.0}% {}/{}",
                    fmt_count(s.spans_held),
                    fmt_count(s.max_spans)
                ),
            ),
            (ALWAYS, format!("buf {fill:.0}%")),
        ],
    ));
    out.push(Segment::new(
        if s.dropped + s.rejected > 0 {
            theme.error
        } else if lost > 0 {
            theme.warn
        } else {
            theme.status_bar
        },
        loss_forms(s.evicted, s.dropped, s.rejected),
    ));
    if let Some(rec) = s.record {
        out.push(record_segment(rec, theme));
    }
    if let Some(fwd) = s.forward {
        out.push(forward_segment(fwd, theme));
    }
    if let Some((n, last)) = &s.notices {
        out.push(notices_segment(*n, last, theme));
    }
    out.extend(origin);
    // The replay's clock is in its badge.
    if let Some(c) = s.clock.filter(|_| !replay) {
        out.push(Segment::new(theme.accent, [(50, format!(" {} ", fmt_clock(c)))]).at_right());
    }
    out
}

/// How squeezed each segment is, and whether separators are narrow.
struct Fit {
    squeeze: Vec<u8>,
    narrow: bool,
}

impl Fit {
    /// The texts shown (None for a segment gone) and the line's width.
    fn layout<'a>(&self, segments: &'a [Segment]) -> (Vec<Option<&'a str>>, usize) {
        let shown: Vec<Option<&str>> = segments
            .iter()
            .zip(&self.squeeze)
            .map(|(s, &q)| s.form(q).map(|t| if self.narrow { t.trim() } else { t }))
            .collect();
        let left = segments
            .iter()
            .zip(&shown)
            .filter(|(s, t)| !s.right && t.is_some())
            .count();
        let sep = if self.narrow { 1 } else { 3 };
        let w = shown.iter().flatten().map(|t| width(t)).sum::<usize>() + left.saturating_sub(1) * sep;
        (shown, w)
    }
}

/// The least squeeze at which the line fits in `room` columns (the most there is if none);
/// then the room that leaves is given back, the most important segment first, to segments
/// that had to give way (an alert banner that shortened frees room for `buf` in full).
fn fit(segments: &[Segment], room: usize) -> Fit {
    let mut levels: Vec<u8> = segments
        .iter()
        .flat_map(|s| s.forms.iter().map(|f| f.until))
        .filter(|&u| u != ALWAYS)
        .chain([0, NARROW])
        .collect();
    levels.sort_unstable();
    levels.dedup();
    let uniform = |q: u8| Fit {
        squeeze: vec![q; segments.len()],
        narrow: q >= NARROW,
    };
    let Some(at) = levels.iter().position(|&q| uniform(q).layout(segments).1 <= room) else {
        return uniform(ALWAYS - 1);
    };
    let mut fit = uniform(levels[at]);
    for &q in levels[..at].iter().rev() {
        for i in 0..segments.len() {
            let was = std::mem::replace(&mut fit.squeeze[i], q);
            if fit.layout(segments).1 > room {
                fit.squeeze[i] = was;
            }
        }
    }
    fit
}

pub fn render(frame: &mut Frame, area: Rect, view: &View, theme: &Theme) {
    let segments = segments(view, theme);
    let room = usize::from(area.width);
    let fit = fit(&segments, room);
    let (shown, _) = fit.layout(&segments);
    let sep = if fit.narrow { "│" } else { " │ " };
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    let mut right: Vec<Span> = Vec::new();
    for (seg, text) in segments.iter().zip(&shown) {
        let Some(text) = text else { continue };
        if seg.right {
            used += width(text);
            right.push(Span::styled(text.to_string(), seg.style));
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::styled(sep, theme.muted));
            used += width(sep);
        }
        used += width(text);
        spans.push(Span::styled(text.to_string(), seg.style));
    }
    spans.push(Span::styled(
        " ".repeat(room.saturating_sub(used)),
        theme.status_bar,
    ));
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), area);
}

/// `--record`: how much was written, or that the recording refuses requests (behind, or failed).
/// Writing is worth little room; a recording that refuses is as important as the loss counters.
fn record_segment(rec: RecordState, theme: &Theme) -> Segment {
    match rec {
        RecordState::Writing(bytes) => Segment::new(
            theme.status_bar,
            [
                (38, format!("rec {:.1} MiB", bytes as f64 / (1024.0 * 1024.0))),
                (55, "rec".to_string()),
            ],
        ),
        RecordState::Behind => Segment::new(
            theme.warn,
            [(85, "rec BEHIND".to_string()), (ALWAYS, "recB".to_string())],
        ),
        RecordState::Failed => Segment::new(
            theme.error,
            [(85, "rec ERROR".to_string()), (ALWAYS, "recE".to_string())],
        ),
    }
}

/// `--forward`: what waits to be forwarded, or that an upstream is being retried, or that a
/// queue is full and the receivers refuse (as important as the loss counters). Gives way just
/// after the recording's size, which it sits beside.
/// Diagnostic lines written while the screen is open: how many and the latest (cut to 48
/// columns); the count stays when the line is squeezed. All of them are in `--log FILE`, or
/// printed once the screen closes.
fn notices_segment(n: u64, last: &str, theme: &Theme) -> Segment {
    let what = if n == 1 {
        "1 notice".to_string()
    } else {
        format!("{} notices", fmt_count(n))
    };
    Segment::new(
        theme.warn,
        [
            (37, format!("⚠ {what}: {}", fit_text(&clean(last), 48))),
            (57, format!("⚠ {what}")),
            (ALWAYS, format!("⚠{}", fmt_count(n))),
        ],
    )
}

fn forward_segment(state: ForwardState, theme: &Theme) -> Segment {
    match state {
        ForwardState::Sending(bytes) => Segment::new(
            theme.status_bar,
            [
                (39, format!("fwd {:.1} MiB", bytes as f64 / (1024.0 * 1024.0))),
                (56, "fwd".to_string()),
            ],
        ),
        ForwardState::Retrying => Segment::new(
            theme.warn,
            [(85, "fwd RETRY".to_string()), (ALWAYS, "fwdR".to_string())],
        ),
        ForwardState::Full => Segment::new(
            theme.error,
            [(85, "fwd FULL".to_string()), (ALWAYS, "fwdF".to_string())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::view::StatusView;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn a_path_keeps_its_last_component() {
        assert_eq!(
            last_component("/a/very/long/path/capture.jsonl.gz"),
            "…/capture.jsonl.gz"
        );
        assert_eq!(last_component("capture.jsonl.gz"), "capture.jsonl.gz");
        assert_eq!(last_component("dir/"), "dir/");
        assert_eq!(last_component("/tmp/captures/"), "…/captures");
        assert_eq!(last_component("-"), "-");
    }

    #[test]
    fn one_file_shortens_several_are_counted() {
        let one = replay_origin(&["/very/long/dir/a-rather-long-capture-name.jsonl.gz".into()]);
        let texts: Vec<&str> = one.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "/very/long/dir/a-rather-long-capture-name.jsonl.gz",
                "…/a-rather-long-capture-name.jsonl.gz",
                "…/a-rather-long…"
            ]
        );
        let three = replay_origin(&["a.jsonl".into(), "b.jsonl".into(), "c.jsonl".into()]);
        assert_eq!(three[1].1, "3 files");
    }

    #[test]
    fn file_names_are_escaped() {
        let o = replay_origin(&["/tmp/\u{1b}]52;c;cm0=\u{7}x.jsonl".into()]);
        assert!(
            o.iter()
                .all(|(_, t)| !t.contains('\u{1b}') && !t.contains('\u{7}')),
            "{o:?}"
        );
    }

    #[test]
    fn listen_addresses_shorten_to_ports() {
        let l = listen_origin(&["grpc 127.0.0.1:4317".into(), "http [::1]:4318".into()]);
        assert_eq!(l[0].1, "grpc 127.0.0.1:4317 · http [::1]:4318");
        assert_eq!(l[1].1, "grpc :4317 · http :4318");
    }

    #[test]
    fn least_important_gives_way_first() {
        let segs = vec![
            Segment::new(Style::new(), [(ALWAYS, "BADGE".to_string())]),
            Segment::new(Style::new(), [(10, "x".repeat(20)), (20, "short".into())]),
            Segment::new(Style::new(), [(30, "counters full".into()), (ALWAYS, "c".into())]),
        ];
        let texts = |room| fit(&segs, room).layout(&segs).0;
        assert_eq!(
            texts(100),
            [Some("BADGE"), Some(&*"x".repeat(20)), Some("counters full")]
        );
        assert_eq!(texts(30), [Some("BADGE"), Some("short"), Some("counters full")]);
        assert_eq!(texts(21), [Some("BADGE"), None, Some("counters full")]);
        // The counters had to shorten; the room that leaves goes back to what fits.
        assert_eq!(texts(20), [Some("BADGE"), Some("short"), Some("c")]);
        assert_eq!(texts(9), [Some("BADGE"), None, Some("c")]);
        assert!(!fit(&segs, 9).narrow);
        // Nothing fits: the most compact forms, with narrow separators.
        assert!(fit(&segs, 5).narrow);
        assert_eq!(texts(5), [Some("BADGE"), None, Some("c")]);
    }

    /// The status line of `view` drawn `width` columns wide in the default theme: its cells
    /// and their text.
    fn draw_line(view: &View, width: u16) -> (ratatui::buffer::Buffer, String) {
        let mut terminal = Terminal::new(TestBackend::new(width, 1)).unwrap();
        terminal
            .draw(|f| render(f, f.area(), view, &Theme::default()))
            .unwrap();
        let buf = terminal.backend().buffer().clone();
        let text = buf.content().iter().map(|c| c.symbol()).collect();
        (buf, text)
    }

    /// The status line for a live run with `record`, and the style of the `rec` segment.
    fn drawn(record: Option<RecordState>) -> (String, Option<ratatui::style::Style>) {
        let view = View {
            status: StatusView {
                source: Some(Source::Live {
                    listen: vec!["grpc :4317".into(), "http :4318".into()],
                }),
                max_spans: 200_000,
                record,
                ..StatusView::default()
            },
            ..View::default()
        };
        let (buf, text) = draw_line(&view, 140);
        let style = text
            .find("rec ")
            .map(|at| buf.content()[text[..at].chars().count()].style());
        (text.trim_end().to_string(), style)
    }

    #[test]
    fn notices_show_their_count_and_the_latest_line_then_the_count_alone() {
        let view = View {
            status: StatusView {
                source: Some(Source::Live {
                    listen: vec!["grpc :4317".into(), "http :4318".into()],
                }),
                max_spans: 200_000,
                notices: Some((
                    3,
                    "clickhouse://db:8123/otel: Code: 60. DB::Exception: Unknown table \x1b[2J".into(),
                )),
                ..StatusView::default()
            },
            ..View::default()
        };
        let line = |width: u16| draw_line(&view, width).1;
        let wide = line(200);
        // The latest line, cut to 48 columns with its mark; nothing of the escape reaches it.
        assert!(
            wide.contains("⚠ 3 notices: clickhouse://db:8123/otel: Code: 60. DB::Except… │"),
            "{wide}"
        );
        assert!(!wide.contains('\x1b'), "{wide:?}");
        let narrow = line(60);
        assert!(!narrow.contains("clickhouse"), "{narrow}");
        assert!(
            narrow.contains("⚠ 3 notices") || narrow.contains("⚠3"),
            "{narrow}"
        );
        assert!(line(30).contains("⚠3"), "{}", line(30));
    }

    #[test]
    fn the_recording_state_is_shown_when_recording() {
        let theme = Theme::default();
        let (off, style) = drawn(None);
        assert!(style.is_none(), "{off}");
        let (writing, _) = drawn(Some(RecordState::Writing(12_900_000)));
        let (behind, behind_style) = drawn(Some(RecordState::Behind));
        let (failed, failed_style) = drawn(Some(RecordState::Failed));
        insta::assert_snapshot!(format!("{off}\n{writing}\n{behind}\n{failed}"));
        assert_eq!(behind_style.and_then(|s| s.fg), theme.warn.fg);
        assert_eq!(failed_style.and_then(|s| s.fg), theme.error.fg);
    }

    #[test]
    fn the_spend_headline_shortens_then_goes_between_rates_and_origin() {
        let view = View {
            status: StatusView {
                source: Some(Source::Live {
                    listen: vec!["grpc 127.0.0.1:4317".into(), "http 127.0.0.1:4318".into()],
                }),
                max_spans: 200_000,
                clock: Some(1_800_000_000),
                ..StatusView::default()
            },
            volume: crate::ui::view::VolumeView {
                window_secs: 300,
                traces: 120,
                error_traces: 3,
                headline: crate::view::series::Headline {
                    traces: 120,
                    trace_errors: 3,
                    tokens: 204_000,
                    spend: 18_400_000,
                },
                ..Default::default()
            },
            ..View::default()
        };
        let line = |w: u16| draw_line(&view, w).1.trim_end().to_string();
        let lines: Vec<String> = [160, 120, 100, 90, 80, 60].into_iter().map(line).collect();
        insta::assert_snapshot!(lines.join("\n"));
        assert!(
            lines[0].contains("$1.84 · $22/h · 40.8k tok/min · 2.5% err"),
            "{}",
            lines[0]
        );
        // The origin goes before the headline, the headline before the rates.
        let short = lines
            .iter()
            .find(|l| l.contains("$1.84 · $22/h") && !l.contains("tok/min"));
        assert!(short.is_some(), "{lines:#?}");
        for l in &lines {
            if l.contains("$22/h") {
                assert!(l.contains("spans/s"), "rates outlast the headline: {l}");
            }
            if l.contains(":4317") {
                assert!(l.contains("$22/h"), "the headline outlasts the origin: {l}");
            }
        }
    }
}
