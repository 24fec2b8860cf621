//! The terminal loop: raw mode and the alternate screen (restored on every way out: return,
//! error, panic via ratatui's hook, and signals via the stop flag), an input thread feeding a
//! channel, and a redraw discipline: store changes pulled every 100 ms, frames only when
//! something changed and at most ~30 per second, one status tick a second for the clock.

use super::app::App;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Shortest time between two frames (~30 fps).
pub const FRAME: Duration = Duration::from_millis(33);
/// How often the store's change log is drained.
pub const SYNC: Duration = Duration::from_millis(100);
/// The slow tick: rates and the clock.
pub const TICK: Duration = Duration::from_secs(1);

/// Restores the terminal when dropped, whatever the way out.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
        crate::log::screen_owns_terminal(false);
    }
}

/// Runs the dashboard on this terminal until `q`, Ctrl-C, or `stop` (SIGINT/SIGTERM).
pub fn run(mut app: App, stop: Arc<AtomicBool>) -> std::io::Result<App> {
    crate::log::screen_owns_terminal(true);
    let mut terminal = ratatui::init();
    let _restore = Restore;
    execute!(std::io::stdout(), EnableMouseCapture)?;
    let (tx, rx) = mpsc::channel();
    let quit = Arc::new(AtomicBool::new(false));
    let input = {
        let quit = quit.clone();
        std::thread::Builder::new()
            .name("llmwatch-input".into())
            .spawn(move || {
                while !quit.load(Ordering::Relaxed) {
                    match event::poll(Duration::from_millis(200)) {
                        Ok(true) => match event::read() {
                            Ok(ev) => {
                                if tx.send(ev).is_err() {
                                    break;
                                }
                            }
                            Err(_) => break,
                        },
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
            })?
    };
    let result = event_loop(&mut app, &rx, &stop, |app| {
        execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
        terminal.draw(|f| app.draw(f))?;
        execute!(std::io::stdout(), EndSynchronizedUpdate)
    });
    quit.store(true, Ordering::Relaxed);
    let _ = input.join();
    result.map(|()| app)
}

/// The loop itself, apart from the terminal so tests can drive it with a `TestBackend`.
pub fn event_loop(
    app: &mut App,
    events: &Receiver<Event>,
    stop: &AtomicBool,
    mut draw: impl FnMut(&mut App) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let start = Instant::now();
    let mut last_draw: Option<Instant> = None;
    let (mut last_sync, mut last_tick) = (start, start);
    loop {
        if stop.load(Ordering::Relaxed) || app.ui.quit {
            return Ok(());
        }
        let now = Instant::now();
        let due_sync = (last_sync + SYNC).saturating_duration_since(now);
        let due_tick = (last_tick + TICK).saturating_duration_since(now);
        let due_draw = match (app.dirty, last_draw) {
            (false, _) => Duration::MAX,
            (true, None) => Duration::ZERO,
            (true, Some(at)) => (at + FRAME).saturating_duration_since(now),
        };
        let wait = due_sync.min(due_tick).min(due_draw);
        match events.recv_timeout(wait) {
            Ok(ev) => {
                app.handle(&ev);
                // Coalesce a burst (a held key, a scroll) into one frame.
                while let Ok(ev) = events.try_recv() {
                    app.handle(&ev);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let now = Instant::now();
        if now >= last_sync + SYNC {
            app.sync();
            last_sync = now;
        }
        if now >= last_tick + TICK {
            app.tick_status();
            last_tick = now;
        }
        if app.dirty && last_draw.is_none_or(|at| now >= at + FRAME) {
            draw(app)?;
            app.dirty = false;
            last_draw = Some(now);
        }
    }
}
