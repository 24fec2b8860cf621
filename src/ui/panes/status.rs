//! The top line: where data comes from and its state, rates, buffer fill, what was lost, and
//! the event-time clock. Segments are dropped from the right when the line is too narrow.

use crate::ingest::record::RecordState;
use crate::ui::text::{clean, fmt_clock, fmt_count};
use crate::ui::theme::Theme;
use crate::ui::view::{Source, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, view: &View, theme: &Theme) {
    let s = &view.status;
    let (badge, badge_style, origin) = match &s.source {
        Some(Source::Replay {
            files,
            speed,
            paused,
            done,
            progress,
        }) => {
            let mut b = String::from("REPLAY");
            if *paused {
                b.push_str(" PAUSED");
            } else if *done {
                b.push_str(" DONE");
            } else {
                b.push(' ');
                b.push_str(speed);
            }
            if let Some(c) = s.clock {
                b.push(' ');
                b.push_str(&fmt_clock(c));
            }
            if let Some(p) = progress {
                b.push_str(&format!(" ({:.0}%)", p * 100.0));
            }
            (b, theme.badge_replay, files.clone())
        }
        Some(Source::Demo { rate }) => (
            "DEMO".to_string(),
            theme.badge_live,
            format!("built-in traffic, {rate} spans/s of event time"),
        ),
        Some(Source::Live { listen }) => ("LIVE".to_string(), theme.badge_live, listen.clone()),
        None => ("LIVE".to_string(), theme.badge_live, String::new()),
    };
    let (badge, badge_style) = if s.frozen {
        (
            format!("PAUSED +{}", fmt_count(s.arrived_while_frozen)),
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
    let origin = vec![Span::styled(origin, theme.muted)];
    let mut segments: Vec<Vec<Span>> = vec![
        vec![Span::styled(format!(" {badge} "), badge_style)],
        vec![Span::styled(
            format!("{:.0} spans/s {:.1} traces/s", s.spans_per_sec, s.traces_per_sec),
            theme.status_bar,
        )],
        vec![Span::styled(
            format!(
                "buf {fill:.0}% {}/{}",
                fmt_count(s.spans_held),
                fmt_count(s.max_spans)
            ),
            if fill >= 90.0 {
                theme.warn
            } else {
                theme.status_bar
            },
        )],
        vec![Span::styled(
            format!(
                "evicted {} dropped {} rejected {}",
                fmt_count(s.evicted),
                fmt_count(s.dropped),
                fmt_count(s.rejected)
            ),
            if s.dropped + s.rejected > 0 {
                theme.error
            } else if lost > 0 {
                theme.warn
            } else {
                theme.status_bar
            },
        )],
    ];
    if let Some(rec) = s.record {
        segments.push(record_segment(rec, theme));
    }
    // What is being replayed matters more than the rates; listen addresses matter least.
    if replay {
        segments.insert(1, origin);
    } else {
        segments.push(origin);
    }
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
        segments.insert(1, vec![Span::styled(format!(" ▲ {n}{what} "), theme.alert)]);
    }
    let clock = s
        .clock
        .filter(|_| !matches!(s.source, Some(Source::Replay { .. })))
        .map(|c| format!(" {} ", fmt_clock(c)))
        .unwrap_or_default();
    let room = usize::from(area.width).saturating_sub(clock.chars().count());
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    for seg in segments {
        let w: usize = seg.iter().map(|s| s.content.chars().count()).sum::<usize>() + 3;
        if used + w > room && !spans.is_empty() {
            break;
        }
        if !spans.is_empty() {
            spans.push(Span::styled(" │ ", theme.muted));
        }
        used += w;
        spans.extend(seg);
    }
    let pad = room.saturating_sub(used);
    spans.push(Span::styled(" ".repeat(pad), theme.status_bar));
    spans.push(Span::styled(clock, theme.accent));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), area);
}

/// `--record`: how much was written, or that the recording refuses requests (behind, or failed).
fn record_segment(rec: RecordState, theme: &Theme) -> Vec<Span<'static>> {
    let (text, style) = match rec {
        RecordState::Writing(bytes) => (
            format!("rec {:.1} MiB", bytes as f64 / (1024.0 * 1024.0)),
            theme.status_bar,
        ),
        RecordState::Behind => ("rec BEHIND".to_string(), theme.warn),
        RecordState::Failed => ("rec ERROR".to_string(), theme.error),
    };
    vec![Span::styled(text, style)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::view::StatusView;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The status line for a live run with `record`, and the style of the `rec` segment.
    fn drawn(record: Option<RecordState>) -> (String, Option<ratatui::style::Style>) {
        let theme = Theme::default();
        let view = View {
            status: StatusView {
                source: Some(Source::Live {
                    listen: "grpc :4317 http :4318".into(),
                }),
                max_spans: 200_000,
                record,
                ..StatusView::default()
            },
            ..View::default()
        };
        let mut terminal = Terminal::new(TestBackend::new(140, 1)).unwrap();
        terminal.draw(|f| render(f, f.area(), &view, &theme)).unwrap();
        let buf = terminal.backend().buffer();
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        let style = text
            .find("rec ")
            .map(|at| buf.content()[text[..at].chars().count()].style());
        (text.trim_end().to_string(), style)
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
}
