//! The key tables: one per mode, as data. The footer shows what fits of the current mode's
//! table in priority order; `?` lists the whole table. Both read the same rows, so the help
//! always names every key the footer shows.
//!
//! A helper adding a key adds a row here (and its handler in its own module); nothing else in
//! the footer or the help changes.

use crate::ui::state::Pane;
use crate::ui::theme::Theme;
use ratatui::text::Span;

/// Which screen (or input) the keys act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The dashboard's panes.
    Overview,
    /// One trace's span tree and detail.
    Drill,
    /// Typing a search in the drill-down.
    DrillSearch,
    /// The review queue (`R`).
    Queue,
    /// Typing a filter (`/`).
    Filter,
    /// The `?` overlay itself.
    Help,
    /// The logs view (`3`).
    Logs,
    /// The metrics view (`4`).
    Metrics,
    /// The sessions view (`2`): one row per session.
    Sessions,
    /// A session shown as a conversation.
    Conversation,
    /// Two traces side by side (`=` twice).
    Compare,
}

/// When a row applies, beyond its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only when replaying a capture (`p`, `+`/`-`).
    Replay,
    /// Only with `--baseline`.
    Baseline,
    /// Only while one of these panes has the focus.
    Focus(&'static [Pane]),
}

/// One row of a key table.
#[derive(Clone, Copy, Debug)]
pub struct KeyRow {
    /// The keys as the help lists them: `s  S`.
    pub keys: &'static str,
    /// What they do, in full (help).
    pub what: &'static str,
    /// The footer's short form `(keys, label)`, or `None` for help only.
    pub footer: Option<(&'static str, &'static str)>,
    /// Footer priority: lower is shown first when the line is short.
    pub priority: u8,
    pub when: When,
}

/// What the rows' conditions are judged against.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub replay: bool,
    pub baseline: bool,
    pub focus: Pane,
}

impl When {
    fn holds(self, c: &Context) -> bool {
        match self {
            When::Always => true,
            When::Replay => c.replay,
            When::Baseline => c.baseline,
            When::Focus(panes) => panes.contains(&c.focus),
        }
    }
}

const fn row(keys: &'static str, what: &'static str) -> KeyRow {
    KeyRow {
        keys,
        what,
        footer: None,
        priority: u8::MAX,
        when: When::Always,
    }
}

const fn shown(
    keys: &'static str,
    what: &'static str,
    short: (&'static str, &'static str),
    priority: u8,
) -> KeyRow {
    KeyRow {
        keys,
        what,
        footer: Some(short),
        priority,
        when: When::Always,
    }
}

const fn when(mut r: KeyRow, w: When) -> KeyRow {
    r.when = w;
    r
}

const LIST: &[Pane] = &[Pane::Traces];
/// `s` sorts the list from every pane but the evals pane, which it sorts itself.
const NOT_EVALS: &[Pane] = &[
    Pane::Alerts,
    Pane::Volume,
    Pane::Latency,
    Pane::Outliers,
    Pane::Traces,
];
const EVALS: &[Pane] = &[Pane::Evals];
const OUTLIERS: &[Pane] = &[Pane::Outliers];
const ALERTS: &[Pane] = &[Pane::Alerts];
const SCROLLED: &[Pane] = &[Pane::Latency, Pane::Alerts, Pane::Evals];

/// The dashboard. Replay rows come early in priority: in a replay they are the keys a user
/// looks for first.
pub const OVERVIEW: &[KeyRow] = &[
    shown("?", "this help; any key closes it", ("?", "help"), 0),
    shown("q  Ctrl-C", "quit (the terminal is restored)", ("q", "quit"), 1),
    row("Ctrl-Z", "suspend to the shell; fg comes back"),
    VIEWS,
    when(
        shown("p", "pause / resume the replay", ("p", "pause"), 2),
        When::Replay,
    ),
    when(
        shown("+  -  >  <", "replay faster / slower", ("+/-", "speed"), 3),
        When::Replay,
    ),
    shown(
        "/",
        "filter: model:gpt-4o status:error cost>0.05 dur>2s trace:0af76519 ... (every pane)",
        ("/", "filter"),
        4,
    ),
    row("Esc", "clear the filter"),
    shown(
        "Tab  Shift-Tab  h l",
        "focus the next / previous pane (or click it)",
        ("Tab", "pane"),
        5,
    ),
    shown("w  W", "window: 1, 5, 15, 60 minutes", ("w", "window"), 6),
    shown(
        "space",
        "freeze the view (data keeps arriving and is counted)",
        ("space", "freeze"),
        7,
    ),
    when(
        shown(
            "s  S",
            "sort by time, duration, cost, tokens, failed evals (the list)",
            ("s", "sort"),
            8,
        ),
        When::Focus(NOT_EVALS),
    ),
    when(
        shown(
            "s  S",
            "sort by change, fail rate, Δ fail rate, verdicts, mean score, name",
            ("s", "sort"),
            8,
        ),
        When::Focus(EVALS),
    ),
    shown(
        "c",
        "cohort: model, route, service, tenant (latency and evals; the outlier baseline when focused)",
        ("c", "cohort"),
        9,
    ),
    shown(
        "v",
        "volume chart split: all, by service, by model",
        ("v", "split"),
        10,
    ),
    shown(
        "R",
        "review queue: traces kept for a reason; Esc back",
        ("R", "review"),
        11,
    ),
    when(
        shown(
            "b",
            "Δ columns: against the baseline / the window before",
            ("b", "vs baseline/prev"),
            12,
        ),
        When::Baseline,
    ),
    when(
        shown(
            "Enter",
            "open the trace: span tree and details",
            ("Enter", "open"),
            13,
        ),
        When::Focus(LIST),
    ),
    when(row("↑ ↓  j k  wheel", "move the selection"), When::Focus(LIST)),
    when(row("PgUp PgDn  g G", "page; newest / oldest"), When::Focus(LIST)),
    shown(
        "D",
        "write the listed traces' LLM calls as a dataset file",
        ("D", "dataset"),
        14,
    ),
    when(
        shown(
            "r",
            "review the trace: p pass / f fail, label, note",
            ("r", "review trace"),
            15,
        ),
        When::Focus(LIST),
    ),
    when(
        shown(
            "=",
            "mark the trace; = on another compares the two side by side",
            ("=", "compare"),
            16,
        ),
        When::Focus(LIST),
    ),
    when(row("↑ ↓  j k  wheel", "scroll the rows"), When::Focus(SCROLLED)),
    when(row("↑ ↓  j k", "choose an outlier"), When::Focus(OUTLIERS)),
    when(
        row("Enter", "select that trace in the list"),
        When::Focus(OUTLIERS),
    ),
    when(
        row(
            "Enter",
            "list that row's failing traces (Enter again opens the first)",
        ),
        When::Focus(EVALS),
    ),
    when(row("Enter", "open its worst example trace"), When::Focus(ALERTS)),
];

/// One trace's drill-down.
pub const DRILL: &[KeyRow] = &[
    shown(
        "Esc",
        "back to the trace list (as you left it)",
        ("Esc", "back"),
        0,
    ),
    shown("?", "this help; any key closes it", ("?", "help"), 1),
    row("q  Ctrl-C", "quit"),
    row(
        "↑ ↓  j k  PgUp PgDn  g G",
        "move in the tree (Tab: scroll the detail)",
    ),
    row("Enter  space", "fold / unfold the span"),
    shown(
        "← →  h l",
        "fold (or go to the parent) / unfold",
        ("←→", "fold"),
        2,
    ),
    shown(
        "C  E",
        "collapse all / expand all",
        ("C/E", "collapse/expand all"),
        7,
    ),
    shown(
        "a",
        "GenAI-only tree: hide HTTP, DB and framework spans / show all",
        ("a", "GenAI only"),
        8,
    ),
    row("x  v", "next error span / next failed verdict"),
    row("$  s", "most expensive span / slowest span"),
    shown(
        "/  n N",
        "search span names and values; next / previous match",
        ("/", "search"),
        3,
    ),
    shown("y", "copy the span as OTLP/JSON (OSC 52)", ("y", "copy span"), 4),
    shown("Y", "copy the trace id (OSC 52)", ("Y", "copy id"), 5),
    shown(
        "e",
        "export the trace as OTLP/JSON (llmwatch replay reads it)",
        ("e", "export"),
        6,
    ),
    row("r", "review the span: p pass / f fail, label, note; Enter saves"),
    row("R", "the review queue"),
];

/// Typing a search in the drill-down.
pub const DRILL_SEARCH: &[KeyRow] = &[
    shown("Enter", "find", ("Enter", "find"), 0),
    shown("Esc", "cancel", ("Esc", "cancel"), 1),
    shown("n  N", "next / previous match", ("n/N", "next/previous"), 2),
];

/// The review queue.
pub const QUEUE: &[KeyRow] = &[
    shown("?", "this help; any key closes it", ("?", "help"), 6),
    shown("Enter", "open the trace", ("Enter", "open"), 0),
    shown(
        "r",
        "review the trace: p pass / f fail, label, note",
        ("r", "review"),
        1,
    ),
    shown(
        "D",
        "write the queue's LLM calls as a dataset file",
        ("D", "dataset"),
        2,
    ),
    shown("↑ ↓  j k", "move", ("↑↓", "move"), 3),
    shown("Esc", "back to the dashboard", ("Esc", "back"), 4),
    shown("q  Ctrl-C", "quit", ("q", "quit"), 5),
    row("=", "mark the trace; = on another compares the two side by side"),
    VIEWS,
];

/// The sessions view's list.
pub const SESSIONS: &[KeyRow] = &[
    shown(
        "Enter",
        "show the session as a conversation",
        ("Enter", "conversation"),
        0,
    ),
    shown(
        "s  S",
        "sort by last turn, turns, cost, tokens, failed evals, errors",
        ("s", "sort"),
        1,
    ),
    shown(
        "/",
        "filter: sessions with a matching trace are listed",
        ("/", "filter"),
        2,
    ),
    shown("↑ ↓  j k  PgUp PgDn  g G", "choose a session", ("↑↓", "move"), 3),
    shown(
        "Esc  1",
        "clear the filter / back to the overview",
        ("Esc", "back"),
        4,
    ),
    shown("?", "this help; any key closes it", ("?", "help"), 5),
    shown("q  Ctrl-C", "quit", ("q", "quit"), 6),
    row("R", "the review queue"),
    VIEWS,
];

/// A session as a conversation.
pub const CONVERSATION: &[KeyRow] = &[
    shown(
        "Enter  o",
        "open the turn's trace (Esc comes back here)",
        ("Enter/o", "open trace"),
        0,
    ),
    shown(
        "=",
        "mark the turn's trace; = on another trace compares the two",
        ("=", "mark/compare"),
        1,
    ),
    shown("↑ ↓  j k  g G", "choose a turn", ("↑↓", "turn"), 2),
    shown("Esc", "back to the sessions", ("Esc", "sessions"), 3),
    shown("?", "this help; any key closes it", ("?", "help"), 4),
    shown("q  Ctrl-C", "quit", ("q", "quit"), 5),
    VIEWS,
];

/// Two traces side by side.
pub const COMPARE: &[KeyRow] = &[
    shown("↑ ↓  j k  PgUp PgDn  g G", "move", ("↑↓", "move"), 0),
    shown("n", "next difference", ("n", "next difference"), 1),
    shown("Esc", "back (the mark stays)", ("Esc", "back"), 2),
    shown("=", "clear the mark", ("=", "clear the mark"), 3),
    shown("?", "this help; any key closes it", ("?", "help"), 4),
    shown("q  Ctrl-C", "quit", ("q", "quit"), 5),
];

/// The number keys: every view takes them (the footer names the views itself).
const VIEWS: KeyRow = row("1 2 3 4", "views: overview, sessions, logs, metrics");

/// The logs view.
pub const LOGS: &[KeyRow] = &[
    shown("?", "this help; any key closes it", ("?", "help"), 0),
    shown("q  Ctrl-C", "quit (the terminal is restored)", ("q", "quit"), 1),
    VIEWS,
    shown(
        "/",
        "filter this view: service:api severity>=warn body:timeout trace:0af76519 text",
        ("/", "filter"),
        2,
    ),
    row("Esc", "clear the filter"),
    shown(
        "f",
        "follow the newest log (moving down pins the list)",
        ("f", "follow"),
        3,
    ),
    shown("Enter", "open the log's trace", ("Enter", "open trace"), 4),
    row("↑ ↓  j k  PgUp PgDn  g G", "move the selection"),
    shown("R", "review queue", ("R", "review"), 5),
    when(
        shown("p", "pause / resume the replay", ("p", "pause"), 6),
        When::Replay,
    ),
    when(
        shown("+  -  >  <", "replay faster / slower", ("+/-", "speed"), 7),
        When::Replay,
    ),
];

/// The metrics view.
pub const METRICS: &[KeyRow] = &[
    shown("?", "this help; any key closes it", ("?", "help"), 0),
    shown("q  Ctrl-C", "quit (the terminal is restored)", ("q", "quit"), 1),
    VIEWS,
    shown(
        "/",
        "filter this view: service:api model:gpt-4o name or attribute text",
        ("/", "filter"),
        2,
    ),
    row("Esc", "clear the filter"),
    shown(
        "↑ ↓  j k  PgUp PgDn  g G",
        "move the selection",
        ("j/k", "move"),
        3,
    ),
    shown("R", "review queue", ("R", "review"), 4),
    when(
        shown("p", "pause / resume the replay", ("p", "pause"), 5),
        When::Replay,
    ),
    when(
        shown("+  -  >  <", "replay faster / slower", ("+/-", "speed"), 6),
        When::Replay,
    ),
];

/// Typing a filter.
pub const FILTER: &[KeyRow] = &[
    shown("Enter", "apply the filter to every pane", ("Enter", "apply"), 0),
    shown("Esc", "cancel", ("Esc", "cancel"), 1),
    row("← →  Home End", "move the cursor"),
    row("Ctrl-U", "clear the line"),
];

/// The help overlay.
pub const HELP: &[KeyRow] = &[row("any key", "close the help"), row("q", "quit")];

pub fn table(mode: Mode) -> &'static [KeyRow] {
    match mode {
        Mode::Overview => OVERVIEW,
        Mode::Drill => DRILL,
        Mode::DrillSearch => DRILL_SEARCH,
        Mode::Queue => QUEUE,
        Mode::Filter => FILTER,
        Mode::Help => HELP,
        Mode::Logs => LOGS,
        Mode::Metrics => METRICS,
        Mode::Sessions => SESSIONS,
        Mode::Conversation => CONVERSATION,
        Mode::Compare => COMPARE,
    }
}

/// Every row of `mode` that applies in `ctx`, in table order: what `?` lists.
pub fn help_rows(mode: Mode, ctx: &Context) -> Vec<KeyRow> {
    table(mode)
        .iter()
        .filter(|r| r.when.holds(ctx))
        .copied()
        .collect()
}

/// The footer entries of `mode` that fit in `width` cells, chosen by priority and shown in
/// priority order. Each entry takes `key label` plus two spaces.
pub fn footer_entries(mode: Mode, ctx: &Context, width: usize) -> Vec<(&'static str, &'static str)> {
    let mut rows: Vec<(u8, (&'static str, &'static str))> = table(mode)
        .iter()
        .filter(|r| r.when.holds(ctx))
        .filter_map(|r| r.footer.map(|f| (r.priority, f)))
        .collect();
    rows.sort_by_key(|(p, _)| *p);
    let mut used = 0;
    let mut out = Vec::new();
    for (_, (k, label)) in rows {
        let w = Span::raw(k).width() + 1 + Span::raw(label).width() + 2;
        // The last entry may drop its trailing gap.
        if used + w - 2 > width {
            continue;
        }
        used += w;
        out.push((k, label));
    }
    out
}

/// The footer entries as styled spans.
pub fn footer_spans(mode: Mode, ctx: &Context, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (k, what) in footer_entries(mode, ctx, width) {
        spans.push(Span::styled(k, theme.accent));
        spans.push(Span::styled(format!(" {what}  "), theme.muted));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Mode; 11] = [
        Mode::Overview,
        Mode::Drill,
        Mode::DrillSearch,
        Mode::Queue,
        Mode::Filter,
        Mode::Help,
        Mode::Logs,
        Mode::Metrics,
        Mode::Sessions,
        Mode::Conversation,
        Mode::Compare,
    ];

    fn contexts() -> Vec<Context> {
        let mut out = Vec::new();
        for replay in [false, true] {
            for baseline in [false, true] {
                for focus in Pane::ORDER {
                    out.push(Context {
                        replay,
                        baseline,
                        focus,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn help_lists_every_key_the_footer_shows() {
        for mode in MODES {
            for ctx in contexts() {
                let help = help_rows(mode, &ctx);
                for (k, label) in footer_entries(mode, &ctx, 1000) {
                    assert!(
                        help.iter().any(|r| r.footer == Some((k, label))),
                        "{mode:?} {ctx:?}: footer {k} {label} missing from help"
                    );
                }
            }
        }
    }

    #[test]
    fn replay_footer_shows_pause_and_speed_even_at_80_columns() {
        let ctx = Context {
            replay: true,
            ..Context::default()
        };
        let shown = footer_entries(Mode::Overview, &ctx, 80);
        assert!(shown.contains(&("p", "pause")), "{shown:?}");
        assert!(shown.contains(&("+/-", "speed")), "{shown:?}");
        let live = footer_entries(Mode::Overview, &Context::default(), 1000);
        assert!(!live.iter().any(|(k, _)| *k == "p" || *k == "+/-"), "{live:?}");
    }

    #[test]
    fn the_footer_fits_its_width_and_keeps_priority() {
        for width in [20, 40, 80, 160] {
            let shown = footer_entries(Mode::Overview, &Context::default(), width);
            let used: usize = shown
                .iter()
                .map(|(k, l)| Span::raw(*k).width() + Span::raw(*l).width() + 3)
                .sum();
            assert!(used.saturating_sub(2) <= width, "{width}: {shown:?}");
            assert_eq!(shown.first(), Some(&("?", "help")));
        }
    }

    #[test]
    fn help_names_cohort_and_split_on_every_pane() {
        for focus in Pane::ORDER {
            let ctx = Context {
                focus,
                ..Context::default()
            };
            let keys: Vec<&str> = help_rows(Mode::Overview, &ctx).iter().map(|r| r.keys).collect();
            assert!(keys.contains(&"c") && keys.contains(&"v"), "{focus:?}: {keys:?}");
        }
    }

    #[test]
    fn equals_is_not_a_speed_key() {
        // `=` belongs to compare (DESIGN); speed is `+`/`-` and `>`/`<`.
        for r in OVERVIEW {
            if r.keys.split_whitespace().any(|k| k == "=") {
                assert!(r.what.contains("compare") && !r.what.contains("speed"), "{r:?}");
            }
        }
    }
}
