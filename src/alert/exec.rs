//! `exec` on fire: a rule's command runs with the alert as one JSON object on stdin, so people
//! can wire llmwatch to their own paging. Commands run on their own threads, never the
//! caller's; at most [`MAX_RUNNING`] at once (more are skipped and counted), each killed after
//! [`TIMEOUT`]. Failures are logged and counted, never fatal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

pub const MAX_RUNNING: usize = 4;
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct ExecCounters {
    pub started: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub timed_out: AtomicU64,
    pub skipped: AtomicU64,
}

#[derive(Debug, Default, Clone)]
pub struct Executor {
    running: Arc<AtomicUsize>,
    pub counters: Arc<ExecCounters>,
    timeout: Option<Duration>,
}

impl Executor {
    /// An executor with its own timeout (tests).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..Self::default()
        }
    }

    /// Runs `argv` with `json` on stdin, in the background.
    pub fn fire(&self, argv: &[String], json: &serde_json::Value) {
        if self.running.fetch_add(1, Relaxed) >= MAX_RUNNING {
            self.running.fetch_sub(1, Relaxed);
            self.counters.skipped.fetch_add(1, Relaxed);
            crate::log!("alert exec skipped: {MAX_RUNNING} commands still running");
            return;
        }
        self.counters.started.fetch_add(1, Relaxed);
        let (argv, input) = (argv.to_vec(), format!("{json}\n"));
        let (running, counters) = (self.running.clone(), self.counters.clone());
        let timeout = self.timeout.unwrap_or(TIMEOUT);
        let spawned = std::thread::Builder::new()
            .name("llmwatch-alert-exec".into())
            .spawn(move || {
                let outcome = run(&argv, &input, timeout);
                let counter = match &outcome {
                    Ok(()) => &counters.succeeded,
                    Err(Failure::TimedOut) => &counters.timed_out,
                    Err(Failure::Failed(_)) => &counters.failed,
                };
                counter.fetch_add(1, Relaxed);
                if let Err(e) = outcome {
                    crate::log!("alert exec {:?}: {e}", argv[0]);
                }
                running.fetch_sub(1, Relaxed);
            });
        if spawned.is_err() {
            self.running.fetch_sub(1, Relaxed);
            self.counters.failed.fetch_add(1, Relaxed);
        }
    }

    /// Commands still running.
    pub fn running(&self) -> usize {
        self.running.load(Relaxed)
    }

    /// Waits up to `limit` for running commands to finish (tests, and exit).
    pub fn wait(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while self.running() > 0 {
            if start.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

#[derive(Debug)]
enum Failure {
    TimedOut,
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => f.write_str("timed out and was killed"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// The command in its own process group (killed whole on timeout), the alert on stdin: the
/// same runner as external evaluators.
fn run(argv: &[String], input: &str, timeout: Duration) -> Result<(), Failure> {
    use crate::eval::external::process::{self, RunError};
    let never = std::sync::atomic::AtomicBool::new(false);
    match process::run(argv, input.as_bytes().to_vec(), timeout, &never) {
        Ok(_) => Ok(()),
        Err(RunError::TimedOut) => Err(Failure::TimedOut),
        Err(e) => Err(Failure::Failed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn the_alert_reaches_stdin_and_failures_and_timeouts_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("alert.json");
        let ex = Executor::with_timeout(Duration::from_millis(300));
        ex.fire(
            &sh(&format!("cat > {}", out.display())),
            &serde_json::json!({"rule": "r"}),
        );
        ex.fire(&sh("exit 3"), &serde_json::json!({}));
        ex.fire(&sh("sleep 5"), &serde_json::json!({}));
        ex.fire(
            &["/nonexistent/llmwatch-pager".to_string()],
            &serde_json::json!({}),
        );
        assert!(ex.wait(Duration::from_secs(5)));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"rule\":\"r\"}\n");
        let c = &ex.counters;
        assert_eq!(c.started.load(Relaxed), 4);
        assert_eq!(c.succeeded.load(Relaxed), 1);
        assert_eq!(c.failed.load(Relaxed), 2);
        assert_eq!(c.timed_out.load(Relaxed), 1);
    }

    #[test]
    fn past_the_cap_commands_are_skipped_not_queued() {
        let ex = Executor::with_timeout(Duration::from_millis(500));
        for _ in 0..MAX_RUNNING + 2 {
            ex.fire(&sh("sleep 2"), &serde_json::json!({}));
        }
        assert_eq!(ex.counters.skipped.load(Relaxed), 2);
        assert!(ex.wait(Duration::from_secs(5)));
    }
}
