//! The signals llmwatch answers, in one place for every mode.
//!
//! SIGINT, SIGTERM, SIGHUP (an ssh disconnect) and SIGQUIT all mean "finish": store what was
//! accepted, write the summary, restore the terminal. Without a handler SIGHUP and SIGQUIT kill
//! the process on the spot, leaving the terminal in raw mode on the alternate screen and no
//! summary. SIGTSTP is caught only while the screen owns the terminal ([`Interrupts::watch`]
//! with `screen`), so the screen can hand the terminal back before the process stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT. Install them before the receivers start,
/// so a signal that arrives right after the listen lines are printed is handled, not fatal; and
/// explicitly, because a background process started by a non-interactive shell has SIGINT
/// ignored otherwise.
pub struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
    quit: Signal,
}

impl StopSignals {
    /// Needs a tokio runtime with its IO driver enabled.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// Waits for the first of them and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.quit.recv() => "SIGQUIT",
        }
    }
}

/// What the signals asked of a mode whose main thread is busy (the screen, a generator loop):
/// flags set by a thread of its own and read by the loop.
#[derive(Default)]
pub struct Interrupts {
    stop: AtomicBool,
    suspend: AtomicBool,
}

impl Interrupts {
    /// Starts the thread that turns signals into flags. With `screen`, SIGTSTP is caught too and
    /// becomes a suspend request (the screen restores the terminal, then stops the process).
    pub fn watch(screen: bool) -> std::io::Result<Arc<Self>> {
        let flags = Arc::new(Self::default());
        let f = flags.clone();
        // The handlers are installed before this returns, so no signal slips through while the
        // thread starts; on a runtime of the thread's own, as callers may be inside one already.
        let (ready, installed) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("llmwatch-signals".into())
            .spawn(move || {
                let watching = || -> std::io::Result<_> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    let handlers = rt.block_on(async {
                        let tstp = match screen {
                            true => Some(signal(SignalKind::from_raw(libc::SIGTSTP))?),
                            false => None,
                        };
                        Ok::<_, std::io::Error>((StopSignals::install()?, tstp))
                    })?;
                    Ok((rt, handlers))
                };
                let (rt, (mut stop, mut tstp)) = match watching() {
                    Ok(w) => {
                        let _ = ready.send(Ok(()));
                        w
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async {
                    loop {
                        tokio::select! {
                            _ = stop.recv() => {
                                f.stop.store(true, Ordering::Relaxed);
                                return;
                            }
                            Some(()) = async { tstp.as_mut()?.recv().await } => {
                                f.suspend.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                });
            })?;
        installed
            .recv()
            .map_err(|_| std::io::Error::other("the signal thread ended early"))??;
        Ok(flags)
    }

    /// A flag nothing sets but [`Interrupts::request_stop`]: for tests.
    pub fn none() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// True once per SIGTSTP received.
    pub fn take_suspend(&self) -> bool {
        self.suspend.swap(false, Ordering::Relaxed)
    }
}

/// Stops this process as job control would (the shell sees it stopped; `fg` continues it) and
/// returns once it is continued. SIGSTOP, not SIGTSTP: our own SIGTSTP handler is installed and
/// cannot be taken back, and SIGSTOP cannot be caught or ignored.
pub fn stop_process() {
    // SAFETY: raise has no memory-safety preconditions; SIGSTOP is a valid signal number.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}
