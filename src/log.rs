//! Diagnostic lines (a receiver stopped, a malformed replay line, a recording error). They go
//! to stderr, except while the dashboard owns the terminal: then to the `--log FILE` if one was
//! given, else into a short backlog printed once the terminal is restored, so that nothing is
//! ever written over the screen.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

/// Lines kept while the screen is open and there is no log file.
const BACKLOG: usize = 50;

#[derive(Default)]
struct Sink {
    file: Option<std::io::BufWriter<std::fs::File>>,
    screen: bool,
    backlog: std::collections::VecDeque<String>,
    dropped: u64,
    /// Lines written while the screen owned the terminal, and the latest: the status bar says
    /// that there are some (they are in the log file, or printed when the screen closes).
    on_screen: u64,
    last: Option<String>,
}

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Sink) -> R) -> R {
    let mut guard = SINK.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Sink::default))
}

/// Sends every line to `path` (appended) from now on.
pub fn to_file(path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    with(|s| s.file = Some(std::io::BufWriter::new(file)));
    Ok(())
}

/// The screen takes (`true`) or gives back the terminal. Giving it back prints the backlog.
pub fn screen_owns_terminal(on: bool) {
    let backlog = with(|s| {
        s.screen = on;
        if on {
            return None;
        }
        let lines: Vec<String> = s.backlog.drain(..).collect();
        Some((lines, std::mem::take(&mut s.dropped)))
    });
    if let Some((lines, dropped)) = backlog {
        if dropped > 0 {
            crate::eprintln_lossy!(
                "llmwatch: {dropped} earlier messages while the screen was open were not kept"
            );
        }
        for l in lines {
            crate::eprintln_lossy!("{l}");
        }
    }
}

pub fn line(args: fmt::Arguments<'_>) {
    // Escaped once here, whichever way the line goes: log files are read with `tail -f` too.
    let text = crate::text::escape_lines(&format!("llmwatch: {args}")).into_owned();
    with(|s| {
        if s.screen {
            s.on_screen += 1;
            s.last = Some(text.strip_prefix("llmwatch: ").unwrap_or(&text).to_string());
        }
        if let Some(f) = &mut s.file {
            let _ = writeln!(f, "{text}");
            let _ = f.flush();
        } else if s.screen {
            if s.backlog.len() == BACKLOG {
                s.backlog.pop_front();
                s.dropped += 1;
            }
            s.backlog.push_back(text);
        } else {
            crate::eprintln_lossy!("{text}");
        }
    });
}

/// How many lines were written while the screen owned the terminal, and the latest of them
/// (escaped, without the `llmwatch: ` prefix); `None` when there were none.
pub fn while_on_screen() -> Option<(u64, String)> {
    with(|s| s.last.clone().map(|last| (s.on_screen, last)))
}

/// `log!("...", args)`: one diagnostic line, see the module documentation.
#[macro_export]
macro_rules! log {
    ($($t:tt)*) => { $crate::log::line(format_args!($($t)*)) };
}

/// Lets a repeated diagnostic through at most once every ten seconds, counting the rest.
pub struct Throttle {
    next_at: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
}

impl Throttle {
    const EVERY_SECS: u64 = 10;

    pub const fn new() -> Self {
        Self {
            next_at: std::sync::atomic::AtomicU64::new(0),
            skipped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(lines skipped since the last one)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let next = self.next_at.load(Relaxed);
        if now >= next
            && self
                .next_at
                .compare_exchange(next, now + Self::EVERY_SECS, Relaxed, Relaxed)
                .is_ok()
        {
            Some(self.skipped.swap(0, Relaxed))
        } else {
            self.skipped.fetch_add(1, Relaxed);
            None
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_written_while_the_screen_is_open_are_counted_with_the_latest() {
        screen_owns_terminal(true);
        line(format_args!("first"));
        line(format_args!("clickhouse: Code: 60. \x1b[2J"));
        let seen = while_on_screen();
        screen_owns_terminal(false);
        // Other tests may log meanwhile: at least these two, the latest escaped, no prefix.
        let (n, last) = seen.expect("counted");
        assert!(n >= 2, "{n}");
        assert!(
            !last.contains('\x1b') && !last.starts_with("llmwatch: "),
            "{last:?}"
        );
    }
}
