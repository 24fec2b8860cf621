//! The terminal loop: raw mode and the alternate screen (restored on every way out: return,
//! error, panic via ratatui's hook, and SIGINT/SIGTERM/SIGHUP/SIGQUIT via the stop flag), an
//! input thread feeding a channel, and a redraw discipline: store changes pulled every 100 ms,
//! frames only when something changed and at most ~30 per second, one status tick a second for
//! the clock. Ctrl-Z (a key in raw mode) and SIGTSTP suspend: the terminal is handed back as it
//! was, the process stops, and on `fg` the screen takes the terminal again and redraws in full.

use super::app::App;
use crate::signals::Interrupts;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
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
        // Not ratatui::restore: it reports a failure with eprintln!, which panics (and aborts,
        // inside a drop) once the terminal has gone away.
        let _ = ratatui::try_restore();
        crate::log::screen_owns_terminal(false);
    }
}

/// Hands the terminal back to the shell (main screen, cursor shown, no mouse reporting, cooked
/// mode), stops the process, and once continued takes it again and forces a full redraw (the
/// shell has drawn over it meanwhile). Each step is tried even when one before it failed.
fn suspend(terminal: &mut DefaultTerminal) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen);
    let _ = terminal.show_cursor();
    let _ = disable_raw_mode();
    crate::log::screen_owns_terminal(false);
    crate::signals::stop_process();
    crate::log::screen_owns_terminal(true);
    enable_raw_mode()?;
    execute!(out, EnterAlternateScreen, EnableMouseCapture)?;
    terminal.hide_cursor()?;
    terminal.clear()
}

/// Runs the dashboard on this terminal until `q`, Ctrl-C, or a stop signal.
pub fn run(mut app: App, signals: Arc<Interrupts>) -> std::io::Result<App> {
    crate::log::screen_owns_terminal(true);
    let mut terminal = ratatui::init();
    let _restore = Restore;
    execute!(std::io::stdout(), EnableMouseCapture)?;
    let (tx, rx) = mpsc::channel();
    let quit = Arc::new(AtomicBool::new(false));
    // Whether stdin is the terminal crossterm reads (else it opens /dev/tty and a hang-up is not
    // seen here).
    let stdin_tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let hung = Arc::new(AtomicBool::new(false));
    if stdin_tty {
        // The terminal can go away (its tmux killed, its pty closed) with no SIGHUP reaching us;
        // crossterm then reads end-of-file in a loop inside `poll` and never returns. This
        // watcher stops the screen as a hang-up would, summary included.
        let (quit, hung, signals) = (quit.clone(), hung.clone(), signals.clone());
        std::thread::Builder::new()
            .name("llmwatch-hangup".into())
            .spawn(move || {
                while !quit.load(Ordering::Relaxed) {
                    if hung_up(0) {
                        hung.store(true, Ordering::Relaxed);
                        signals.request_stop();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            })?;
    }
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
    let result = event_loop(&mut app, &rx, &signals, |app, step| match step {
        Step::Draw => {
            execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
            terminal.draw(|f| app.draw(f))?;
            execute!(std::io::stdout(), EndSynchronizedUpdate)
        }
        Step::Suspend => suspend(&mut terminal),
    });
    quit.store(true, Ordering::Relaxed);
    // A terminal that went away fails the next draw, or the watcher saw it first: either way
    // the screen ends as on a hang-up (the caller writes the summary), and the input thread,
    // stuck inside crossterm, is left to the process exit.
    if hung.load(Ordering::Relaxed) || (stdin_tty && hung_up(0)) {
        // The Terminal's drop would report the cursor it cannot show with eprintln!, which
        // panics on a dead terminal: skip it, there is no cursor left to show.
        std::mem::forget(terminal);
        return Ok(app);
    }
    let _ = input.join();
    result.map(|()| app)
}

/// Whether terminal `fd` has hung up: `poll` reports POLLHUP (or an error) on it.
fn hung_up(fd: libc::c_int) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd that outlives the call; a zero timeout never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// What the loop asks of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Draw a frame.
    Draw,
    /// Hand the terminal back, stop the process, take the terminal again when continued.
    Suspend,
}

/// The loop itself, apart from the terminal so tests can drive it with a `TestBackend`.
pub fn event_loop(
    app: &mut App,
    events: &Receiver<Event>,
    signals: &Interrupts,
    mut terminal: impl FnMut(&mut App, Step) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let start = Instant::now();
    let mut last_draw: Option<Instant> = None;
    let (mut last_sync, mut last_tick) = (start, start);
    loop {
        if signals.stop_requested() || app.ui.quit {
            return Ok(());
        }
        // Both flags are taken, so a Ctrl-Z and a SIGTSTP together suspend once.
        let (key, signal) = (std::mem::take(&mut app.ui.suspend), signals.take_suspend());
        if key || signal {
            terminal(app, Step::Suspend)?;
            app.dirty = true;
            last_draw = None;
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
            terminal(app, Step::Draw)?;
            app.dirty = false;
            last_draw = Some(now);
        }
    }
}

#[cfg(test)]
mod hangup_tests {
    use super::hung_up;

    #[test]
    fn a_closed_writer_reads_as_hung_up_an_open_one_does_not() {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        assert!(!hung_up(fds[0]), "writer still open");
        // SAFETY: both descriptors came from pipe above and are closed once each.
        unsafe { libc::close(fds[1]) };
        assert!(hung_up(fds[0]), "writer closed");
        unsafe { libc::close(fds[0]) };
    }
}
