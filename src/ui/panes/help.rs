//! The `?` overlay: every key that works in the current context.

use crate::ui::state::{Pane, UiState};
use crate::ui::theme::Theme;
use crate::ui::view::{Source, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

/// (keys, what they do) for the focused pane and the source.
pub fn drill_keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Esc", "back to the trace list (as you left it)"),
        ("q  Ctrl-C", "quit"),
        (
            "↑ ↓  j k  PgUp PgDn  g G",
            "move in the tree (Tab: scroll the detail)",
        ),
        ("Enter  space", "fold / unfold the span"),
        ("← →  h l", "fold (or go to the parent) / unfold"),
        ("C  E", "collapse all / expand all"),
        (
            "a",
            "GenAI-only tree: hide HTTP, DB and framework spans / show all",
        ),
        ("x  v", "next error span / next failed verdict"),
        ("$  s", "most expensive span / slowest span"),
        ("/  n N", "search span names and values; next / previous match"),
        ("y  Y", "copy the span as OTLP/JSON / the trace id (OSC 52)"),
        ("e", "export the trace as OTLP/JSON (llmwatch replay reads it)"),
        ("r", "review the span: p pass / f fail, label, note; Enter saves"),
        ("R", "the review queue"),
    ]
}

/// The sessions view's keys (`2`), in its list or in a conversation.
pub fn sessions_keys(conversation: bool) -> Vec<(&'static str, &'static str)> {
    let mut k = vec![("q  Ctrl-C", "quit"), ("?", "this help; any key closes it")];
    if conversation {
        k.extend([
            ("↑ ↓  j k  g G", "choose a turn"),
            ("Enter  o", "open the turn's trace (Esc comes back here)"),
            ("=", "mark the turn's trace; = on another trace compares the two"),
            ("Esc", "back to the sessions"),
            ("1", "the overview"),
        ]);
    } else {
        k.extend([
            ("↑ ↓  j k  PgUp PgDn  g G", "choose a session"),
            ("Enter", "show the session as a conversation"),
            (
                "s  S",
                "sort by last turn, turns, cost, tokens, failed evals, errors",
            ),
            ("/", "filter: sessions with a matching trace are listed"),
            ("Esc  1", "clear the filter / back to the overview"),
            ("R", "the review queue"),
        ]);
    }
    k
}

pub fn keys(ui: &UiState, replay: bool) -> Vec<(&'static str, &'static str)> {
    if ui.screen == crate::ui::state::Screen::Sessions {
        return sessions_keys(ui.sessions.open.is_some());
    }
    let mut k = vec![
        ("q  Ctrl-C", "quit (the terminal is restored)"),
        ("Ctrl-Z", "suspend to the shell; fg comes back"),
        ("?", "this help; any key closes it"),
        (
            "Tab  Shift-Tab  h l",
            "focus the next / previous pane (or click it)",
        ),
        ("space", "pause the view (data keeps arriving and is counted)"),
        ("w  W", "window: 1, 5, 15, 60 minutes"),
        ("/", "filter: model:gpt-4o status:error cost>0.05 dur>2s ..."),
        ("Esc", "clear the filter"),
        ("R", "review queue: traces kept for a reason; Esc back"),
        ("2", "sessions: traces grouped by session, shown as conversations"),
    ];
    match ui.focus {
        Pane::Traces => k.extend([
            ("↑ ↓  j k  wheel", "move the selection"),
            ("PgUp PgDn  g G", "page; newest / oldest"),
            ("s  S", "sort by time, duration, cost, tokens, failed evals"),
            ("Enter", "open the trace: span tree and details"),
            ("D", "write the listed traces' LLM calls as a dataset file"),
            ("r", "review the trace: p pass / f fail, label, note"),
            ("=", "mark the trace; = on another compares the two side by side"),
        ]),
        Pane::Latency => k.extend([
            ("↑ ↓  j k  wheel", "scroll the cohorts"),
            ("c", "cohort: model, route, service, tenant"),
        ]),
        Pane::Outliers => k.extend([
            ("↑ ↓  j k", "choose an outlier"),
            ("Enter", "select that trace in the list"),
            ("c", "baseline cohort: model, route, service, tenant"),
        ]),
        Pane::Evals => k.extend([
            ("↑ ↓  j k  wheel", "choose an evaluator or evaluator × cohort row"),
            (
                "s  S",
                "sort by fail rate, Δ fail rate, verdicts, mean score, name",
            ),
            ("c", "cohort: model, route, service, tenant (as the latency pane)"),
            (
                "Enter",
                "list that row's failing traces (Enter again opens the first)",
            ),
        ]),
        Pane::Volume => k.extend([("v", "split: all, by service, by model")]),
        Pane::Alerts => k.extend([
            ("↑ ↓  j k  wheel", "choose an alert (firing first)"),
            ("Enter", "open its worst example trace"),
        ]),
    }
    if ui.against_baseline.is_some() {
        k.push(("b", "Δ columns: against the baseline / the window before"));
    }
    if replay {
        k.extend([
            ("p", "pause / resume the replay"),
            ("+  -", "replay faster / slower"),
        ]);
    }
    k
}

pub fn render(frame: &mut Frame, area: Rect, ui: &UiState, view: &View, theme: &Theme, drill: bool) {
    let replay = matches!(view.status.source, Some(Source::Replay { .. }));
    let keys = if drill { drill_keys() } else { keys(ui, replay) };
    let lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>19} "), theme.accent),
                Span::styled(*what, theme.base),
            ])
        })
        .collect();
    let w = area.width.min(84);
    // Wrapped lines take more rows: count them so the last key is never cut off.
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let h = (rows as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focused)
        .title(" Keys ")
        .title_style(theme.accent)
        .style(theme.base);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}
