//! What the screen is showing and where the user is: focus, window, cohort split, sort,
//! filter being typed, pause and the trace-list selection. Plain data, changed by key and mouse
//! handling in the app, read by the panes.

use crate::model::TraceId;
use crate::view::index::SortKey;
use crate::view::query::QueryError;
use crate::view::series::Window;
use ratatui::layout::Rect;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pane {
    /// The alerts strip (only with `--rules`).
    Alerts,
    Volume,
    Latency,
    Outliers,
    Evals,
    #[default]
    Traces,
}

impl Pane {
    pub const ORDER: [Pane; 6] = [
        Pane::Alerts,
        Pane::Volume,
        Pane::Latency,
        Pane::Outliers,
        Pane::Evals,
        Pane::Traces,
    ];

    pub fn next(self) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    pub fn prev(self) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Self::ORDER[(i + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }
}

/// The views on number keys (k9s, btop habits): `1` overview, `2` sessions, `3` logs, `4`
/// metrics. The review queue (`R`) and the drill-down open over whichever is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Overview,
    /// Traces grouped by session, and a session as a conversation.
    Sessions,
    Logs,
    Metrics,
}

impl Screen {
    pub const ALL: [Screen; 4] = [Screen::Overview, Screen::Sessions, Screen::Logs, Screen::Metrics];

    /// The number key that shows it.
    pub fn key(self) -> char {
        match self {
            Screen::Overview => '1',
            Screen::Sessions => '2',
            Screen::Logs => '3',
            Screen::Metrics => '4',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Screen::Overview => "overview",
            Screen::Sessions => "sessions",
            Screen::Logs => "logs",
            Screen::Metrics => "metrics",
        }
    }

    pub fn from_key(c: char) -> Option<Screen> {
        Self::ALL.into_iter().find(|s| s.key() == c)
    }
}

/// A list of records (logs, metric series) with its own filter: the selection by display
/// position, the first visible row, and whether it follows the newest rows.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordList {
    pub filter: FilterInput,
    /// Logs: stuck to the newest log (`f` toggles); the list stops growing at the top while
    /// off, so the selection stays put.
    pub follow: bool,
    /// Logs: while not following, the newest arrival number shown.
    pub top: u64,
    pub cursor: usize,
    pub offset: usize,
    /// Rows the list showed at the last draw (paging).
    pub visible: usize,
}

impl Default for RecordList {
    fn default() -> Self {
        Self {
            filter: FilterInput::default(),
            follow: true,
            top: u64::MAX,
            cursor: 0,
            offset: 0,
            visible: 1,
        }
    }
}

/// The sessions view's list position, and the session open as a conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionsPos {
    pub selected: Option<crate::intern::Sym>,
    pub cursor: usize,
    pub offset: usize,
    /// The session shown as a conversation (Enter), with its selected turn.
    pub open: Option<ConversationPos>,
}

/// Where the user is in a conversation: the selected turn (0 = oldest) and the first line on
/// screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationPos {
    pub session: crate::intern::Sym,
    pub turn: usize,
    pub scroll: usize,
}

/// What the volume chart splits its traces by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Split {
    #[default]
    None,
    Service,
    Model,
}

impl Split {
    pub fn next(self) -> Split {
        match self {
            Self::None => Self::Service,
            Self::Service => Self::Model,
            Self::Model => Self::None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::None => "all",
            Self::Service => "by service",
            Self::Model => "by model",
        }
    }
}

/// What the evals pane sorts its evaluators (and within each, its cohorts) by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EvalSort {
    /// Significant changes of the fail rate against the window before (or the baseline)
    /// first, largest rise first ([`crate::view::stats::two_proportion_z`]); then the steady
    /// rows by fail rate.
    #[default]
    Significant,
    /// Highest fail rate first.
    FailRate,
    /// Largest rise of the fail rate against the window before first.
    Change,
    /// Most verdicts first.
    Count,
    /// Lowest mean score first.
    Mean,
    Name,
}

impl EvalSort {
    pub const ALL: [EvalSort; 6] = [
        Self::Significant,
        Self::FailRate,
        Self::Change,
        Self::Count,
        Self::Mean,
        Self::Name,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Significant => "change first",
            Self::FailRate => "fail rate",
            Self::Change => "Δ fail rate",
            Self::Count => "verdicts",
            Self::Mean => "mean score",
            Self::Name => "name",
        }
    }

    /// The next key (`forward`) or the previous one.
    pub fn step(self, forward: bool) -> EvalSort {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }
}

/// The `/` line: what is typed, where the cursor is, and the parse error of what is typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterInput {
    pub editing: bool,
    pub text: String,
    /// Cursor position in chars.
    pub cursor: usize,
    pub error: Option<QueryError>,
    /// The filter in force (what Enter last applied).
    pub applied: String,
}

/// The first row to show so that `cursor` is on screen with `visible` rows, moving `offset` as
/// little as possible and never past the last page of `len` rows.
pub fn offset_showing(cursor: usize, offset: usize, visible: usize, len: usize) -> usize {
    let visible = visible.max(1);
    let offset = if cursor < offset {
        cursor
    } else if cursor >= offset + visible {
        cursor + 1 - visible
    } else {
        offset
    };
    offset.min(len.saturating_sub(visible))
}

impl FilterInput {
    /// Line editing of what is typed (characters, Backspace, Delete, arrows, Home, End,
    /// Ctrl-U); the parse error is refreshed so it shows before Enter. False for a key that is
    /// not editing (Esc and Enter are the caller's).
    pub fn edit(&mut self, k: ratatui::crossterm::event::KeyEvent) -> bool {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let byte = |s: &str, c: usize| s.char_indices().nth(c).map_or(s.len(), |(i, _)| i);
        let len = self.text.chars().count();
        match k.code {
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) => {
                let at = byte(&self.text, self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = byte(&self.text, self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < len => {
                let at = byte(&self.text, self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            _ => return false,
        }
        self.error = crate::view::query::Query::parse(&self.text).err();
        true
    }
}

/// The trace list's position. At the top it follows the newest row (like `tail -f`); once the
/// user moves, the selected trace stays selected while rows arrive above it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListPos {
    /// Stuck to the first row (set at start and by g/Home).
    pub follow: bool,
    pub selected: Option<TraceId>,
    /// Display position of the selection among the filtered rows.
    pub cursor: usize,
    /// Display position of the first visible row.
    pub offset: usize,
}

/// Screen areas from the last draw, for mouse hit-testing and paging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub alerts: Rect,
    pub volume: Rect,
    pub latency: Rect,
    pub outliers: Rect,
    pub evals: Rect,
    pub traces: Rect,
    /// Rows of the trace table body.
    pub trace_rows: Rect,
    /// Rows of the evals table body.
    pub eval_rows: Rect,
    pub latency_rows: u16,
}

impl Areas {
    pub fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        let p = ratatui::layout::Position { x, y };
        [
            (self.alerts, Pane::Alerts),
            (self.volume, Pane::Volume),
            (self.latency, Pane::Latency),
            (self.outliers, Pane::Outliers),
            (self.evals, Pane::Evals),
            (self.traces, Pane::Traces),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|(_, pane)| pane)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    pub focus: Pane,
    /// Index into [`Window::CHOICES`].
    pub window: usize,
    /// Cohort dimension (index into `view::series::DIMS`) of the latency and evals panes.
    pub latency_dim: usize,
    pub split: Split,
    pub sort: SortKey,
    pub filter: FilterInput,
    /// Frozen view: the spans accepted when space was pressed.
    pub frozen_at: Option<u64>,
    pub help: bool,
    pub list: ListPos,
    pub latency_offset: usize,
    pub outlier_cursor: usize,
    pub evals_sort: EvalSort,
    /// Selected row of the evals pane and its first visible row.
    pub evals_cursor: usize,
    pub evals_offset: usize,
    /// Which of the outlier and evals panes a narrow screen shows: the one focused last.
    pub middle: Pane,
    /// With alert rules: how many alerts the alerts strip has to show (`None`: no rules).
    pub alerts: Option<usize>,
    /// Selected alert.
    pub alerts_cursor: usize,
    pub areas: Areas,
    /// A one-line note for the footer (e.g. the opened trace was evicted).
    pub note: Option<String>,
    /// The review queue is shown (`R`), with its selection.
    pub review: Option<crate::ui::review::QueuePos>,
    pub quit: bool,
    /// With `--baseline`: whether the change columns compare against it (`b` toggles);
    /// `None` without a baseline.
    pub against_baseline: Option<bool>,
    /// Ctrl-Z was pressed: the terminal loop suspends the process and clears this.
    pub suspend: bool,
    /// The view on the number keys.
    pub screen: Screen,
    pub logs: RecordList,
    pub metrics: RecordList,
    pub sessions: SessionsPos,
    /// The trace `=` marked to compare with the next one `=` is pressed on.
    pub compare_mark: Option<TraceId>,
    /// The rows of the list the view on screen shows (sessions, logs, metrics, compare, the
    /// review queue; inside the border, under the header), as last drawn: where a click
    /// selects and what a page is.
    pub view_rows: Rect,
}

impl Default for UiState {
    fn default() -> Self {
        Self {
            focus: Pane::Traces,
            window: 1,
            latency_dim: 0,
            split: Split::None,
            sort: SortKey::Time,
            filter: FilterInput::default(),
            frozen_at: None,
            help: false,
            list: ListPos {
                follow: true,
                ..ListPos::default()
            },
            latency_offset: 0,
            outlier_cursor: 0,
            evals_sort: EvalSort::default(),
            evals_cursor: 0,
            evals_offset: 0,
            middle: Pane::Outliers,
            alerts: None,
            alerts_cursor: 0,
            areas: Areas::default(),
            note: None,
            review: None,
            quit: false,
            against_baseline: None,
            suspend: false,
            screen: Screen::Overview,
            logs: RecordList::default(),
            metrics: RecordList::default(),
            sessions: SessionsPos::default(),
            compare_mark: None,
            view_rows: Rect::default(),
        }
    }
}

impl UiState {
    /// Focuses `pane`; the outlier or evals pane also becomes the one a narrow screen shows.
    pub fn focus_on(&mut self, pane: Pane) {
        self.focus = pane;
        if matches!(pane, Pane::Outliers | Pane::Evals) {
            self.middle = pane;
        }
    }

    /// The pane after (or before) the focused one, skipping panes not on screen.
    pub fn cycle(&self, forward: bool) -> Pane {
        let mut p = self.focus;
        for _ in 0..Pane::ORDER.len() {
            p = if forward { p.next() } else { p.prev() };
            let shown = match p {
                Pane::Alerts => self.areas.alerts.height > 0,
                Pane::Outliers | Pane::Evals => self.areas.outliers.height > 0 || self.areas.evals.height > 0,
                _ => true,
            };
            if shown {
                return p;
            }
        }
        self.focus
    }

    pub fn window(&self) -> Window {
        Window {
            secs: Window::CHOICES[self.window % Window::CHOICES.len()],
        }
    }
}
