//! The dashboard application: owns the screen state, the trace index and the last status
//! figures; turns key and mouse events into state changes; pulls changes from the store when
//! told; draws a frame from a bounded [`View`].

use super::panes;
use super::state::{ListPos, Pane, Split, UiState};
use super::theme::Theme;
use super::view::{self, Budget, Source, View};
use crate::alert::{Engine, EngineOptions, RuleSet};
use crate::ingest::handoff::Pipeline;
use crate::replay::ReplayControl;
use crate::status::StatusSample;
use crate::store::follow::{Deferred, Follower, Nobody};
use crate::summary::Summary;
use crate::view::index::{SortKey, TraceIndex};
use crate::view::query::{self, CohortFilter, Query};
use crate::view::series::{DIMS, NONE, OTHER, Reader, Window};
use ratatui::Frame;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use std::sync::Arc;

pub mod compare;
mod logs;
mod metrics;
mod review;
mod screens;
mod sessions;
mod types;

/// Where the data comes from, for the status bar and the replay keys.
pub enum Feed {
    Live {
        /// One entry per receiver: `grpc 127.0.0.1:4317`.
        listen: Vec<String>,
    },
    Replay {
        files: Vec<String>,
        control: Arc<ReplayControl>,
    },
    Demo {
        rate: f64,
    },
}

/// Where OSC 52 clipboard sequences go (the terminal; a buffer in tests).
pub type ClipboardSink = Box<dyn FnMut(&[u8]) -> std::io::Result<()> + Send>;

pub struct App {
    pub ui: UiState,
    /// The open trace, when drilling down.
    pub drill: Option<crate::ui::drill::Drill>,
    clipboard: ClipboardSink,
    /// Where `e` writes exported traces.
    pub export_dir: std::path::PathBuf,
    pub index: TraceIndex,
    pub theme: Theme,
    pipeline: Arc<Pipeline>,
    feed: Feed,
    reader: Reader,
    status: (StatusSample, StatusSample),
    /// Set when something on screen may have changed since the last frame.
    pub dirty: bool,
    /// `--rules`: the alert engine, fed from the same change log as the index.
    pub alerts: Option<Engine>,
    /// What the index has still to read after a freeze (the alerts keep reading).
    deferred: Deferred,
    /// The review form, open over whatever is shown (`r`).
    pub form: Option<crate::ui::review::ReviewForm>,
    /// `--reviews`: where saved reviews are appended.
    reviews: Option<crate::review::file::ReviewsFile>,
    /// `--baseline`: every cohort over the whole baseline, computed once.
    baseline: Option<crate::ui::baseline::BaselineRows>,
    /// `replay --open`: the prefix of the trace to open once it has arrived.
    pending_open: Option<crate::model::TraceIdPrefix>,
    /// Two traces side by side (`=` on a second trace).
    compare: Option<types::CompareScreen>,
    /// The open session's turns as last read from the store.
    conversation: types::ConversationCache,
}

impl App {
    pub fn new(pipeline: Arc<Pipeline>, feed: Feed, theme: Theme) -> Self {
        let sample = StatusSample::take(&pipeline);
        let mut app = Self {
            drill: None,
            clipboard: Box::new(|bytes| {
                use std::io::Write;
                let mut out = std::io::stdout();
                out.write_all(bytes)?;
                out.flush()
            }),
            export_dir: std::path::PathBuf::from("."),
            ui: UiState::default(),
            index: TraceIndex::default(),
            theme,
            pipeline,
            feed,
            reader: Reader::default(),
            status: (sample, sample),
            dirty: true,
            alerts: None,
            deferred: Deferred::default(),
            form: None,
            reviews: None,
            baseline: None,
            pending_open: None,
            compare: None,
            conversation: Default::default(),
        };
        app.index.set_cost_dim(1);
        let rule = app.pipeline.store().cost_rule();
        app.index.set_cost_rule(rule);
        app.sync();
        app
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// Sends clipboard sequences somewhere else than the terminal (tests).
    pub fn set_clipboard(&mut self, sink: ClipboardSink) {
        self.clipboard = sink;
    }

    /// Compares the latency and evals panes against `baseline` (the default; `b` toggles
    /// back to the window before), and says so in the status bar.
    pub fn set_baseline(&mut self, baseline: crate::ui::baseline::BaselineRows) {
        self.baseline = Some(baseline);
        self.ui.against_baseline = Some(true);
        self.dirty = true;
    }

    /// Watches `rules`: the alerts pane, the status banner, and the summary's alerts.
    pub fn watch_rules(&mut self, rules: RuleSet, options: EngineOptions) {
        self.alerts = Some(Engine::new(rules, options));
        // Traces already held are read again, this time by the engine too.
        self.index.reset_watch();
        self.sync();
    }

    /// Pulls what changed in the store into the index and the alert engine. While the view is
    /// frozen the index stands still (its changes set aside) but the alerts keep up. Returns
    /// whether anything on screen changed.
    pub fn sync(&mut self) -> bool {
        let frozen = self.ui.frozen_at.is_some();
        if frozen && self.alerts.is_none() {
            return false;
        }
        // A whole-store read goes chunk by chunk, letting the ingest thread in between.
        let mut changed = false;
        let mut nobody = Nobody;
        loop {
            let mut store = self.pipeline.store();
            let also: &mut dyn Follower = match &mut self.alerts {
                Some(engine) => {
                    engine.set_max_second(store.max_event_second());
                    engine
                }
                None => &mut nobody,
            };
            if frozen {
                self.index.sync_frozen(&mut store, also, &mut self.deferred);
            } else {
                if !self.deferred.is_empty() {
                    self.index.catch_up(&store, &mut self.deferred);
                    changed = true;
                }
                changed |= self.index.sync_with(&mut store, also);
            }
            drop(store);
            if !self.index.rebuilding() && (frozen || !self.index.filtering()) {
                break;
            }
            std::thread::yield_now();
        }
        if let Some(engine) = &mut self.alerts {
            let c = &self.pipeline.counters;
            engine.observe_dropped(
                c.spans.dropped.load(std::sync::atomic::Ordering::Relaxed)
                    + c.logs.dropped.load(std::sync::atomic::Ordering::Relaxed),
            );
            engine.advance();
            crate::alert::check::keep_examples(engine, &self.pipeline);
            changed |= !engine.take_events().is_empty();
            // The screen owns the terminal: cohorts the baseline lacks go to the log.
            for (r, cohort) in engine.take_new_cohorts() {
                let line = crate::alert::new_cohort_line(&engine.rules()[r], cohort.as_deref());
                crate::log!("{line}");
            }
        }
        changed |= self.open_pending();
        self.dirty |= changed;
        changed
    }

    /// Opens the drill-down of the trace whose id begins with `prefix` as soon as one has
    /// arrived (`replay --open`); when several have by then, or the replay ends without one,
    /// says so on the note line.
    pub fn open_when_arrived(&mut self, prefix: crate::model::TraceIdPrefix) {
        self.pending_open = Some(prefix);
        self.open_pending();
    }

    fn open_pending(&mut self) -> bool {
        let Some(prefix) = self.pending_open.clone() else {
            return false;
        };
        let done = matches!(&self.feed, Feed::Replay { control, .. } if control.done());
        if done {
            // Everything read has reached the store once the feed is done and flushed.
            self.pipeline.flush();
        }
        let found = self.pipeline.store().trace_ids_matching(&prefix);
        if found.is_empty() && !done {
            return false;
        }
        self.pending_open = None;
        match found[..] {
            [id] => self.open_trace(id),
            _ => {
                self.ui.note = Some(match_note(
                    found.len(),
                    prefix.as_str(),
                    " in the replayed files (--open)",
                    " (--open: give more of the id)",
                ));
                true
            }
        }
    }

    /// The JSON summary of what was received, with the alerts that fired (every window judged
    /// up to the newest second). Call when the screen has closed.
    pub fn summary(mut self) -> Summary {
        self.ui.frozen_at = None;
        self.sync();
        if let Some(mut engine) = self.alerts.take() {
            engine.finish();
            crate::alert::check::keep_examples(&mut engine, &self.pipeline);
            // Commands started by the last alerts get their time.
            if let Some(ex) = engine.executor() {
                ex.wait(crate::alert::exec::TIMEOUT);
            }
            let mut summary = Summary::collect(&self.pipeline);
            crate::alert::fill_summary(&mut summary, &engine);
            return summary;
        }
        Summary::collect(&self.pipeline)
    }

    /// Takes fresh status figures (rates are over the time since the previous call).
    pub fn tick_status(&mut self) {
        let now = StatusSample::take(&self.pipeline);
        self.status = (self.status.1, now);
        self.dirty = true;
    }

    /// As [`Self::tick_status`], stamped `elapsed` after the previous sample rather than now:
    /// deterministic rates for tests.
    pub fn tick_status_after(&mut self, elapsed: std::time::Duration) {
        let mut now = StatusSample::take(&self.pipeline);
        now.at = self.status.1.at + elapsed;
        self.status = (self.status.1, now);
        self.dirty = true;
    }

    fn source(&self) -> Source {
        match &self.feed {
            Feed::Live { listen } => Source::Live {
                listen: listen.clone(),
            },
            Feed::Demo { rate } => Source::Demo { rate: *rate },
            Feed::Replay { files, control } => Source::Replay {
                files: files.clone(),
                speed: control.speed().to_string(),
                paused: control.paused(),
                done: control.done(),
                progress: control.progress(),
            },
        }
    }

    /// Builds the frame's view for panes of the sizes in `budget`.
    pub fn view(&mut self, budget: Budget) -> View {
        let window = self.ui.window();
        let clock = match &self.feed {
            Feed::Replay { control, .. } => control.position_secs(),
            _ => None,
        }
        .or_else(|| {
            let n = self.index.series().newest();
            (n > 0).then_some(n)
        });
        let split = match self.ui.split {
            Split::None => None,
            Split::Service => Some(2),
            Split::Model => Some(0),
        };
        self.fix_list(budget.trace_rows);
        let evals = view::evals(
            &self.index,
            window,
            self.ui.latency_dim,
            self.ui.evals_sort,
            (self.ui.evals_cursor, self.ui.evals_offset),
            budget.eval_rows,
            budget.eval_spark_points,
        );
        self.ui.evals_cursor = evals.cursor;
        self.ui.evals_offset = evals.offset;
        let alerts = self.alerts.as_ref().map(|e| {
            let rows = usize::from(self.ui.areas.alerts.height.saturating_sub(2)).max(1);
            view::alerts(e, self.ui.alerts_cursor, rows)
        });
        if let Some(a) = &alerts {
            self.ui.alerts_cursor = a.cursor;
        }
        let list = &self.ui.list;
        let mut view = View {
            alerts,
            status: view::status(
                &self.status.0,
                &self.status.1,
                Some(self.source()),
                self.ui.frozen_at,
                clock,
            ),
            volume: view::volume(&self.index, window, split, budget.chart_points),
            latency: view::latency(
                &self.index,
                &mut self.reader,
                window,
                self.ui.latency_dim,
                budget.spark_points,
            ),
            outliers: {
                let (rows, counts) =
                    self.index
                        .outliers_counted(&mut self.reader, window, budget.outlier_rows.max(1));
                view::OutlierView {
                    dim: DIMS[self.index.cost_dim()].as_str(),
                    rows,
                    counts,
                    base: None,
                }
            },
            evals,
            traces: view::TracesView {
                rows: self.index.page(list.offset, budget.trace_rows).cloned().collect(),
                offset: list.offset,
                cursor: list.cursor,
                filtered: self.index.len(),
                total: self.index.total(),
                sort: self.index.sort(),
            },
        };
        if let Some(base) = &self.baseline {
            view.status.baseline = base.files.clone();
            let against = self.ui.against_baseline.unwrap_or(false).then_some(base);
            view::against(
                &mut view,
                against,
                self.ui.latency_dim,
                self.index.cost_dim(),
                window,
            );
        }
        view
    }

    /// Keeps the selection on the same trace as rows arrive, and the cursor on screen.
    fn fix_list(&mut self, visible: usize) {
        let len = self.index.len();
        let list = &mut self.ui.list;
        if len == 0 {
            list.selected = None;
            list.cursor = 0;
            list.offset = 0;
            return;
        }
        if list.follow {
            list.cursor = 0;
            list.offset = 0;
            list.selected = self.index.page(0, 1).next().map(|r| r.id);
            return;
        }
        let screen_line = list.cursor.saturating_sub(list.offset);
        match list.selected.and_then(|id| self.index.position(&id)) {
            Some(p) => list.cursor = p,
            None => {
                list.cursor = list.cursor.min(len - 1);
                list.selected = self.index.page(list.cursor, 1).next().map(|r| r.id);
            }
        }
        let visible = visible.max(1);
        list.offset = list.cursor.saturating_sub(screen_line.min(visible - 1));
        list.offset = list.offset.min(len.saturating_sub(visible));
        if list.cursor < list.offset {
            list.offset = list.cursor;
        }
    }

    pub fn draw(&mut self, frame: &mut Frame) {
        if self.drill.is_some() {
            self.draw_drill(frame);
        } else if self.compare.is_some() {
            self.draw_compare(frame);
        } else if self.ui.review.is_some() {
            self.draw_queue(frame);
        } else {
            self.draw_screen(frame);
        }
        if let Some(form) = &self.form {
            panes::review::render_form(frame, frame.area(), form, &self.theme);
        }
    }

    /// The view on the number keys that is shown.
    fn draw_screen(&mut self, frame: &mut Frame) {
        use super::state::Screen;
        match self.ui.screen {
            Screen::Overview => return self.draw_dashboard(frame),
            Screen::Sessions => self.draw_sessions(frame),
            Screen::Logs => self.draw_logs(frame),
            Screen::Metrics => self.draw_metrics(frame),
        }
        if self.ui.help {
            let mode = match self.ui.screen {
                Screen::Logs => crate::ui::keys::Mode::Logs,
                Screen::Metrics => crate::ui::keys::Mode::Metrics,
                Screen::Sessions if self.ui.sessions.open.is_some() => crate::ui::keys::Mode::Conversation,
                Screen::Sessions => crate::ui::keys::Mode::Sessions,
                Screen::Overview => crate::ui::keys::Mode::Overview,
            };
            let replay = self.is_replay();
            panes::help::render_for(frame, frame.area(), &self.ui, replay, &self.theme, mode);
        }
    }

    fn draw_dashboard(&mut self, frame: &mut Frame) {
        self.ui.alerts = self.alerts.as_ref().map(Engine::alert_count);
        let layout = panes::layout(frame.area(), &self.ui);
        let budget = layout.budget();
        self.ui.areas = layout.areas();
        let view = self.view(budget);
        panes::render(frame, &layout, &view, &self.ui, &self.theme);
    }

    fn draw_drill(&mut self, frame: &mut Frame) {
        use ratatui::layout::{Constraint, Layout};
        let [status_area, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(frame.area());
        let l = panes::drill::layout(body);
        let window = self.ui.window();
        let Some(drill) = self.drill.as_mut() else { return };
        let baseline = self
            .index
            .baseline_multiple(&mut self.reader, window, &drill.trace_id)
            .map(|(m, cohort)| (m, cohort.to_string()));
        let view = {
            let store = self.pipeline.store();
            store
                .trace(&drill.trace_id)
                .map(|t| panes::drill::build(drill, t, baseline, &l, &self.theme))
        };
        let Some(view) = view else {
            self.ui.note = Some("the open trace was evicted from the buffer".into());
            self.drill = None;
            if self.ui.review.is_some() {
                self.draw_queue(frame);
            } else {
                self.draw_screen(frame);
            }
            return;
        };
        let mut status = view::View {
            status: view::status(
                &self.status.0,
                &self.status.1,
                Some(self.source()),
                self.ui.frozen_at,
                {
                    let n = self.index.series().newest();
                    (n > 0).then_some(n)
                },
            ),
            alerts: self.alerts.as_ref().map(|e| view::alerts(e, 0, 1)),
            ..Default::default()
        };
        if let Some(base) = &self.baseline {
            status.status.baseline = base.files.clone();
        }
        frame.render_widget(
            ratatui::widgets::Block::new().style(self.theme.base),
            frame.area(),
        );
        panes::render_status(frame, status_area, &status, &self.theme);
        panes::drill::render(frame, &l, &view, &self.theme);
        if self.ui.help {
            panes::render_help(
                frame,
                &self.ui,
                &status,
                &self.theme,
                crate::ui::keys::Mode::Drill,
            );
        }
    }

    /// Opens the selected alert's worst example trace that is still held.
    fn open_alert(&mut self) -> bool {
        let Some(engine) = &self.alerts else {
            return false;
        };
        let Some(alert) = engine
            .alerts()
            .get(self.ui.alerts_cursor)
            .map(|a| a.examples.clone())
        else {
            return false;
        };
        let store = self.pipeline.store();
        match alert.iter().find_map(|id| store.trace(id)) {
            Some(t) => {
                self.drill = Some(crate::ui::drill::Drill::open(t));
                self.ui.note = None;
            }
            None => self.ui.note = Some("the alert's example traces were evicted from the buffer".into()),
        }
        true
    }

    /// `D`: the model calls of the traces listed (filter and sort as shown) as a dataset file in
    /// the export directory, and a note saying where.
    /// `D` in the trace list: the listed traces' model calls as a dataset file.
    fn write_dataset(&mut self) {
        let ids: Vec<crate::model::TraceId> = self.index.page(0, self.index.len()).map(|r| r.id).collect();
        self.write_dataset_of(&ids);
    }

    /// Writes the model calls of `ids` (those still held) to `./llmwatch-dataset-<time>.jsonl`
    /// and says where on the note line.
    pub(super) fn write_dataset_of(&mut self, ids: &[crate::model::TraceId]) {
        let path = (self.export_dir).join(crate::dataset::screen_file_name(std::time::SystemTime::now()));
        let written = std::fs::File::create(&path).and_then(|f| {
            let mut out = std::io::BufWriter::new(f);
            let store = self.pipeline.store();
            crate::dataset::write_dataset(ids.iter().filter_map(|id| store.trace(id)), &mut out)
        });
        self.ui.note = Some(match written {
            Ok(n) => format!(
                "wrote {n} model calls of {} listed traces to {}",
                ids.len(),
                path.display()
            ),
            Err(e) => format!("could not write {}: {e}", path.display()),
        });
    }

    /// Opens the only trace the list holds, or says how many match.
    fn open_single_match(&mut self) -> bool {
        match self.index.len() {
            1 => {
                let id = self.index.page(0, 1).next().map(|r| r.id);
                match id {
                    Some(id) => self.open_trace(id),
                    None => true,
                }
            }
            n => {
                let prefix = Query::parse(&self.ui.filter.applied)
                    .ok()
                    .and_then(|q| q.trace_prefix().map(str::to_string))
                    .unwrap_or_default();
                self.ui.note = Some(match_note(
                    n,
                    &prefix,
                    " among the held traces (evicted, or not arrived yet)",
                    ": type more of the id",
                ));
                true
            }
        }
    }

    /// Opens the trace selected in the list.
    fn open_selected(&mut self) -> bool {
        match self.ui.list.selected {
            Some(id) => self.open_trace(id),
            None => false,
        }
    }

    /// Opens trace `id`'s drill-down, or says it was evicted.
    pub(super) fn open_trace(&mut self, id: crate::model::TraceId) -> bool {
        let store = self.pipeline.store();
        match store.trace(&id) {
            Some(t) => {
                self.drill = Some(crate::ui::drill::Drill::open(t));
                self.ui.note = None;
            }
            None => self.ui.note = Some("that trace was evicted from the buffer".into()),
        }
        true
    }

    fn drill_key(&mut self, k: KeyEvent) -> bool {
        use crate::ui::drill::Action;
        if self.ui.help {
            self.ui.help = false;
            return true;
        }
        let searching = self.drill.as_ref().is_some_and(|d| d.search.editing);
        if !searching {
            match k.code {
                KeyCode::Char('q') => {
                    self.ui.quit = true;
                    return true;
                }
                KeyCode::Char('?') => {
                    self.ui.help = true;
                    return true;
                }
                KeyCode::Char('r') => return self.review_drill_span(),
                KeyCode::Char('R') => {
                    self.drill = None;
                    self.open_queue();
                    return true;
                }
                _ => {}
            }
        }
        let Some(drill) = self.drill.as_mut() else {
            return false;
        };
        let action = {
            let store = self.pipeline.store();
            match store.trace(&drill.trace_id) {
                Some(t) => drill.key(k, t),
                None => Action::Close,
            }
        };
        match action {
            Action::None => return false,
            Action::Redraw => {}
            Action::Close => self.drill = None,
            Action::Copy { text, what } => {
                let in_tmux = std::env::var_os("TMUX").is_some();
                let mut seq = Vec::new();
                let note = match crate::ui::osc52::copy(&mut seq, &text, in_tmux)
                    .and_then(|()| (self.clipboard)(&seq))
                {
                    Ok(()) => format!(
                        "copied the {what} ({} bytes) to the clipboard (OSC 52)",
                        text.len()
                    ),
                    Err(e) => format!("could not copy: {e}"),
                };
                if let Some(d) = self.drill.as_mut() {
                    d.message = Some(note);
                }
            }
            Action::Export => {
                let result = {
                    let store = self.pipeline.store();
                    store
                        .trace(&drill.trace_id)
                        .map(|t| crate::model::otlp_out::export_trace(t, &self.export_dir))
                };
                let note = match result {
                    Some(Ok(path)) => format!("wrote {} (llmwatch replay reads it)", path.display()),
                    Some(Err(e)) => format!("could not export: {e}"),
                    None => "the trace was evicted".to_string(),
                };
                if let Some(d) = self.drill.as_mut() {
                    d.message = Some(note);
                }
            }
        }
        true
    }

    /// Handles one input event; returns whether the screen needs redrawing.
    pub fn handle(&mut self, event: &Event) -> bool {
        let changed = match event {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.key(*k),
            Event::Mouse(m) => self.mouse(*m),
            Event::Resize(..) => true,
            _ => false,
        };
        self.dirty |= changed;
        changed
    }

    fn key(&mut self, k: KeyEvent) -> bool {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.ui.quit = true;
            return true;
        }
        // Raw mode turns the terminal's Ctrl-Z into a key: suspend as job control would.
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('z') {
            self.ui.suspend = true;
            return false;
        }
        if self.form.is_some() {
            return self.form_key(k);
        }
        if self.drill.is_some() {
            return self.drill_key(k);
        }
        if self.compare.is_some() {
            return self.compare_key(k);
        }
        if self.ui.review.is_some() {
            // The number keys leave the queue for that view.
            if !self.ui.help && self.screen_key(k) {
                self.ui.review = None;
                return true;
            }
            return self.queue_key(k);
        }
        if self.ui.filter.editing {
            return self.filter_key(k);
        }
        if self.ui.help {
            // Any key closes the help (q still quits).
            self.ui.help = false;
            if k.code == KeyCode::Char('q') {
                self.ui.quit = true;
            }
            return true;
        }
        use super::state::Screen;
        let editing = match self.ui.screen {
            Screen::Logs => self.ui.logs.filter.editing,
            Screen::Metrics => self.ui.metrics.filter.editing,
            _ => false,
        };
        if !editing && self.screen_key(k) {
            return true;
        }
        match self.ui.screen {
            Screen::Overview => {}
            Screen::Logs => return self.logs_key(k),
            Screen::Metrics => return self.metrics_key(k),
            Screen::Sessions => return self.sessions_key(k),
        }
        match k.code {
            KeyCode::Char('q') => self.ui.quit = true,
            KeyCode::Char('?') => self.ui.help = true,
            KeyCode::Tab => self.ui.focus_on(self.ui.cycle(true)),
            KeyCode::BackTab => self.ui.focus_on(self.ui.cycle(false)),
            KeyCode::Char(' ') => self.toggle_freeze(),
            KeyCode::Char('/') => {
                let f = &mut self.ui.filter;
                f.editing = true;
                f.text = f.applied.clone();
                f.cursor = f.text.chars().count();
                f.error = None;
            }
            KeyCode::Esc if !self.ui.filter.applied.is_empty() => self.apply_filter(String::new()),
            KeyCode::Char('w') => self.ui.window = (self.ui.window + 1) % Window::CHOICES.len(),
            KeyCode::Char('W') => {
                self.ui.window = (self.ui.window + Window::CHOICES.len() - 1) % Window::CHOICES.len()
            }
            KeyCode::Char('c') if self.ui.focus == Pane::Outliers => {
                let d = (self.index.cost_dim() + 1) % DIMS.len();
                self.index.set_cost_dim(d);
                self.ui.outlier_cursor = 0;
            }
            KeyCode::Char('c') => {
                self.ui.latency_dim = (self.ui.latency_dim + 1) % DIMS.len();
                self.ui.latency_offset = 0;
                self.ui.evals_cursor = 0;
                self.ui.evals_offset = 0;
            }
            KeyCode::Char('v') => self.ui.split = self.ui.split.next(),
            KeyCode::Char('b') if self.baseline.is_some() => {
                self.ui.against_baseline = self.ui.against_baseline.map(|b| !b);
            }
            KeyCode::Char(c @ ('s' | 'S')) if self.ui.focus == Pane::Evals => {
                self.ui.evals_sort = self.ui.evals_sort.step(c == 's');
                self.ui.evals_cursor = 0;
                self.ui.evals_offset = 0;
            }
            KeyCode::Char('s') => {
                let i = SortKey::ALL
                    .iter()
                    .position(|s| *s == self.index.sort())
                    .unwrap_or(0);
                self.set_sort(SortKey::ALL[(i + 1) % SortKey::ALL.len()]);
            }
            KeyCode::Char('S') => {
                let n = SortKey::ALL.len();
                let i = SortKey::ALL
                    .iter()
                    .position(|s| *s == self.index.sort())
                    .unwrap_or(0);
                self.set_sort(SortKey::ALL[(i + n - 1) % n]);
            }
            KeyCode::Char('D') => self.write_dataset(),
            KeyCode::Char('R') => self.open_queue(),
            KeyCode::Char('r') if self.ui.focus == Pane::Traces => return self.review_selected(),
            KeyCode::Char('=') => {
                return match self
                    .ui
                    .list
                    .selected
                    .or_else(|| self.index.page(0, 1).next().map(|r| r.id))
                {
                    Some(id) => self.mark_or_compare(id),
                    None => false,
                };
            }
            KeyCode::Char('p') => self.replay(|c| c.toggle_pause()),
            // `=` is compare's (DESIGN); speed keeps `+`/`-` and `>`/`<`.
            KeyCode::Char('+' | '>') => self.replay(|c| c.step_speed(true)),
            KeyCode::Char('-' | '<') => self.replay(|c| c.step_speed(false)),
            KeyCode::Enter => return self.enter(),
            _ => return self.navigate(k.code),
        }
        true
    }

    fn replay(&self, f: impl Fn(&ReplayControl)) {
        if let Feed::Replay { control, .. } = &self.feed {
            f(control);
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.feed, Feed::Replay { .. })
    }

    fn set_sort(&mut self, sort: SortKey) {
        self.ui.sort = sort;
        self.index.set_sort(sort);
        // The selected trace stays selected; it now sits elsewhere.
        self.ui.list.offset = 0;
    }

    fn toggle_freeze(&mut self) {
        self.ui.frozen_at = match self.ui.frozen_at {
            Some(_) => None,
            None => Some(StatusSample::take(&self.pipeline).spans_accepted),
        };
        if self.ui.frozen_at.is_none() {
            self.sync();
        }
    }

    /// Enter: in the list, open the selected trace; from the outlier pane, jump to that trace
    /// in the list; from the evals pane, list the failing traces of the selected row.
    fn enter(&mut self) -> bool {
        match self.ui.focus {
            Pane::Traces => return self.open_selected(),
            Pane::Evals => return self.show_failing(),
            Pane::Alerts => return self.open_alert(),
            Pane::Outliers => {}
            Pane::Volume | Pane::Latency => return false,
        }
        let window = self.ui.window();
        let outliers = self
            .index
            .outliers(&mut self.reader, window, self.ui.outlier_cursor + 1);
        let Some(o) = outliers.get(self.ui.outlier_cursor) else {
            return false;
        };
        if self.index.position(&o.row.id).is_none() {
            // Filtered out: clear the filter so the trace can be shown.
            self.apply_filter(String::new());
        }
        self.ui.list.selected = Some(o.row.id);
        self.ui.list.follow = false;
        self.ui.focus_on(Pane::Traces);
        true
    }

    /// The selected evals row's failing traces: the filter becomes `eval:Name:fail` plus its
    /// cohort's term, and the list takes the focus with its first trace selected (Enter again
    /// opens it).
    fn show_failing(&mut self) -> bool {
        let rows = view::eval_rows(
            &self.index,
            self.ui.window(),
            self.ui.latency_dim,
            self.ui.evals_sort,
        );
        let Some(row) = rows.get(self.ui.evals_cursor) else {
            return false;
        };
        let key = DIMS[self.ui.latency_dim];
        let cohort = match row.cohort.as_deref() {
            None => None,
            // "(other)" groups many values: no one term says which.
            Some(OTHER) => None,
            Some(NONE) => Some(CohortFilter::Missing(key)),
            Some(value) => Some(CohortFilter::Is(key, value)),
        };
        let text = query::failing_verdicts(&row.evaluator, cohort);
        self.apply_filter(text);
        self.ui.list = ListPos {
            follow: true,
            selected: self.index.page(0, 1).next().map(|r| r.id),
            ..ListPos::default()
        };
        self.ui.focus_on(Pane::Traces);
        true
    }

    fn navigate(&mut self, code: KeyCode) -> bool {
        let page = usize::from(self.ui.areas.trace_rows.height.max(1));
        let delta: isize = match code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            KeyCode::PageUp => -(page as isize),
            KeyCode::PageDown => page as isize,
            KeyCode::Home | KeyCode::Char('g') => isize::MIN / 2,
            KeyCode::End | KeyCode::Char('G') => isize::MAX / 2,
            KeyCode::Left | KeyCode::Char('h') => {
                self.ui.focus_on(self.ui.cycle(false));
                return true;
            }
            KeyCode::Right | KeyCode::Char('l') => {
                self.ui.focus_on(self.ui.cycle(true));
                return true;
            }
            _ => return false,
        };
        self.scroll(self.ui.focus, delta);
        true
    }

    fn scroll(&mut self, pane: Pane, delta: isize) {
        let step = |v: usize, len: usize| {
            (v as isize)
                .saturating_add(delta)
                .clamp(0, len.saturating_sub(1) as isize) as usize
        };
        match pane {
            Pane::Traces => {
                let len = self.index.len();
                if len == 0 {
                    return;
                }
                let cursor = step(self.ui.list.cursor, len);
                self.select_at(cursor);
            }
            Pane::Latency => {
                let rows = self.index.series().dim(self.ui.latency_dim).len();
                self.ui.latency_offset = step(self.ui.latency_offset, rows);
            }
            Pane::Outliers => {
                let rows = usize::from(self.ui.areas.outliers.height.saturating_sub(3)).max(1);
                self.ui.outlier_cursor = step(self.ui.outlier_cursor, rows);
            }
            Pane::Evals => {
                let ui = &self.ui;
                let rows = view::eval_rows(&self.index, ui.window(), ui.latency_dim, ui.evals_sort).len();
                self.ui.evals_cursor = step(self.ui.evals_cursor, rows);
            }
            Pane::Alerts => {
                let rows = self.alerts.as_ref().map_or(0, Engine::alert_count);
                self.ui.alerts_cursor = step(self.ui.alerts_cursor, rows);
            }
            Pane::Volume => {}
        }
    }

    fn select_at(&mut self, cursor: usize) {
        let list = &mut self.ui.list;
        list.follow = cursor == 0;
        list.cursor = cursor;
        list.selected = self.index.page(cursor, 1).next().map(|r| r.id);
        let visible = usize::from(self.ui.areas.trace_rows.height.max(1));
        if cursor < list.offset {
            list.offset = cursor;
        } else if cursor >= list.offset + visible {
            list.offset = cursor + 1 - visible;
        }
    }

    fn mouse(&mut self, m: MouseEvent) -> bool {
        if self.drill.is_none()
            && (self.compare.is_some()
                || self.ui.review.is_some()
                || self.ui.screen != super::state::Screen::Overview)
        {
            return self.view_mouse(m);
        }
        if let Some(d) = self.drill.as_mut() {
            let (code, n) = match m.kind {
                MouseEventKind::ScrollDown => (KeyCode::Down, 3),
                MouseEventKind::ScrollUp => (KeyCode::Up, 3),
                _ => return false,
            };
            let store = self.pipeline.store();
            if let Some(t) = store.trace(&d.trace_id) {
                for _ in 0..n {
                    d.key(KeyEvent::new(code, KeyModifiers::NONE), t);
                }
            }
            return true;
        }
        let Some(pane) = self.ui.areas.pane_at(m.column, m.row) else {
            return false;
        };
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.ui.focus_on(pane);
                let rows = self.ui.areas.trace_rows;
                if pane == Pane::Traces && m.row >= rows.y && m.row < rows.y + rows.height {
                    let at = self.ui.list.offset + usize::from(m.row - rows.y);
                    if at < self.index.len() {
                        self.select_at(at);
                    }
                }
                let rows = self.ui.areas.eval_rows;
                if pane == Pane::Evals && m.row >= rows.y && m.row < rows.y + rows.height {
                    // Past the last row is clamped when the pane is next drawn.
                    self.ui.evals_cursor = self.ui.evals_offset + usize::from(m.row - rows.y);
                }
                true
            }
            MouseEventKind::ScrollDown => {
                self.scroll(pane, 3);
                true
            }
            MouseEventKind::ScrollUp => {
                self.scroll(pane, -3);
                true
            }
            _ => false,
        }
    }

    fn filter_key(&mut self, k: KeyEvent) -> bool {
        let f = &mut self.ui.filter;
        match k.code {
            KeyCode::Esc => {
                f.editing = false;
                f.error = None;
            }
            KeyCode::Enter => {
                let text = f.text.clone();
                match Query::parse(&text) {
                    Ok(q) => {
                        self.apply_filter(text);
                        // `trace:ID` that leaves one trace opens it.
                        if q.trace_prefix().is_some() {
                            return self.open_single_match();
                        }
                    }
                    Err(e) => f.error = Some(e),
                }
                return true;
            }
            _ => return f.edit(k),
        }
        true
    }

    fn apply_filter(&mut self, text: String) {
        let query = Query::parse(&text).ok();
        {
            let store = self.pipeline.store();
            self.index.set_query(query, &store);
        }
        // Free text: the content search goes chunk by chunk, letting the receivers in between
        // (also while the view is frozen: it searches what the frozen list holds).
        while self.index.filtering() {
            std::thread::yield_now();
            let mut store = self.pipeline.store();
            if self.ui.frozen_at.is_some() {
                self.index.continue_filtering(&store);
            } else {
                self.index.sync(&mut store);
            }
        }
        let f = &mut self.ui.filter;
        f.applied = text;
        f.editing = false;
        f.error = None;
    }
}

/// What a jump to a trace id prefix found, when it is not the one trace to open: `3 traces
/// match 1a2b3c4d` then `several`, or `no trace matches 1a2b3c4d` then `none`.
fn match_note(n: usize, prefix: &str, none: &str, several: &str) -> String {
    match n {
        0 => format!("no trace matches {prefix}{none}"),
        1 => format!("1 trace matches {prefix}"),
        n => format!("{n} traces match {prefix}{several}"),
    }
}
