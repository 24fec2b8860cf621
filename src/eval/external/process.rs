//! Running one evaluation: the command in its own process group, the payload on stdin, stdout
//! read to the end, all within a timeout after which the whole group is killed. Never waits on
//! anything the child (or a grandchild it left behind) controls past the deadline.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most stdout kept; an evaluator writing more is answering badly.
pub const MAX_STDOUT_BYTES: usize = 1024 * 1024;
/// Stderr kept for the log line of a failure.
const MAX_STDERR_BYTES: usize = 4096;

#[derive(Debug)]
pub enum RunError {
    /// The program could not be started.
    Spawn(std::io::Error),
    /// Waiting for it failed.
    Wait(std::io::Error),
    /// It ended with a non-zero status or by a signal; the last line of its stderr.
    Exit(ExitStatus, String),
    TimedOut,
    /// llmwatch is stopping.
    Cancelled,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Spawn(e) => write!(f, "cannot start {e}"),
            Self::Wait(e) => write!(f, "cannot wait for it: {e}"),
            Self::Exit(status, stderr) if stderr.is_empty() => write!(f, "{status}"),
            Self::Exit(status, stderr) => write!(f, "{status}: {stderr}"),
            Self::TimedOut => write!(f, "timed out"),
            Self::Cancelled => write!(f, "cancelled"),
        }
    }
}

/// What stdout held: its first [`MAX_STDOUT_BYTES`], and whether there was more.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub overflowed: bool,
}

/// Reads a pipe to its end on a thread, keeping the first `max` bytes; the result arrives on
/// the returned channel once every holder of the pipe's write end has closed it.
fn drain<R: Read + Send + 'static>(mut pipe: R, max: usize) -> mpsc::Receiver<Output> {
    let (tx, rx) = mpsc::sync_channel(1);
    // Without a thread the sender is dropped and the caller sees a closed channel: no output.
    let _ = std::thread::Builder::new()
        .name("llmwatch-eval-io".into())
        .spawn(move || {
            let mut out = Output::default();
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = max.saturating_sub(out.stdout.len());
                        out.stdout.extend_from_slice(&buf[..n.min(room)]);
                        out.overflowed |= n > room;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(out);
        });
    rx
}

/// Kills the child's whole process group (it was started as the group's leader) while the
/// child is not yet reaped, so the group id cannot have been reused.
fn kill_group(child: &mut Child) {
    signal_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

/// Sleeps in short, growing steps while polling (1 ms up to 20 ms): fast evaluators are noticed
/// quickly, slow ones cost little.
struct Backoff(Duration);

impl Backoff {
    fn sleep(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(self.0.min(left));
        self.0 = (self.0 * 2).min(Duration::from_millis(20));
    }
}

/// Runs `argv` with `input` on stdin and returns its stdout once it has exited with status 0,
/// within `timeout`. `cancelled` is polled: when set, the child is killed.
pub fn run(
    argv: &[String],
    input: Vec<u8>,
    timeout: Duration,
    cancelled: &AtomicBool,
) -> Result<Output, RunError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| RunError::Spawn(std::io::Error::other("empty command")))?;
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| RunError::Spawn(std::io::Error::new(e.kind(), format!("{program}: {e}"))))?;
    // The payload is written on its own thread: a child that answers before reading all of its
    // input (or never reads it) must not stall us. Writing fails once the child is gone.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = std::thread::Builder::new()
            .name("llmwatch-eval-io".into())
            .spawn(move || {
                let _ = stdin.write_all(&input);
            });
    }
    let stdout = child.stdout.take().map(|p| drain(p, MAX_STDOUT_BYTES));
    let stderr = child.stderr.take().map(|p| drain(p, MAX_STDERR_BYTES));

    let mut backoff = Backoff(Duration::from_millis(1));
    let status = loop {
        if cancelled.load(Ordering::Relaxed) {
            kill_group(&mut child);
            return Err(RunError::Cancelled);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                return Err(RunError::Wait(e));
            }
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            return Err(RunError::TimedOut);
        }
        backoff.sleep(deadline);
    };
    // The child has exited; its output is complete unless something it started still holds
    // the pipe, which is waited for only until the deadline.
    let left = || deadline.saturating_duration_since(Instant::now());
    let output = match stdout.map(|rx| rx.recv_timeout(left())) {
        Some(Ok(out)) => out,
        Some(Err(mpsc::RecvTimeoutError::Timeout)) => {
            signal_group(child.id());
            return Err(RunError::TimedOut);
        }
        Some(Err(mpsc::RecvTimeoutError::Disconnected)) | None => Output::default(),
    };
    if !status.success() {
        let err = stderr
            .and_then(|rx| rx.recv_timeout(left().min(Duration::from_millis(100))).ok())
            .map(|e| last_line(&e.stdout))
            .unwrap_or_default();
        return Err(RunError::Exit(status, err));
    }
    Ok(output)
}

/// SIGKILL to the process group led by `pid`. Used before the leader is reaped, or after it
/// was when a member still holds the output pipe: a group exists while any member lives, so its
/// id cannot have been reused.
fn signal_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// The last non-empty line of some output, cut to 200 characters, for a log line.
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    fn go(script: &str, input: &str, timeout_ms: u64) -> Result<Output, RunError> {
        run(
            &sh(script),
            input.as_bytes().to_vec(),
            Duration::from_millis(timeout_ms),
            &AtomicBool::new(false),
        )
    }

    #[test]
    fn stdin_in_stdout_out() {
        let out = go("cat; echo", "{\"a\": 1}", 5000).unwrap();
        assert_eq!(out.stdout, b"{\"a\": 1}\n");
        assert!(!out.overflowed);
        // An evaluator that never reads a large input still answers.
        let big = "x".repeat(1 << 20);
        assert_eq!(go("echo done", &big, 5000).unwrap().stdout, b"done\n");
    }

    #[test]
    fn failures_and_timeouts() {
        match go("echo partial; echo 'Traceback: boom' >&2; exit 3", "", 5000) {
            Err(RunError::Exit(status, err)) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(err, "Traceback: boom");
            }
            other => panic!("{other:?}"),
        }
        let started = Instant::now();
        // The sleep is a grandchild holding stdout: the whole group goes.
        assert!(matches!(
            go("sleep 5; echo late", "", 200),
            Err(RunError::TimedOut)
        ));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // A background grandchild holding the pipe after the evaluator exits.
        let started = Instant::now();
        assert!(matches!(
            go("(sleep 5) & echo '{}'", "", 300),
            Err(RunError::TimedOut)
        ));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(
            run(
                &["/nonexistent/judge".into()],
                Vec::new(),
                Duration::from_secs(1),
                &AtomicBool::new(false)
            ),
            Err(RunError::Spawn(_))
        ));
        assert!(matches!(
            run(
                &sh("sleep 5"),
                Vec::new(),
                Duration::from_secs(5),
                &AtomicBool::new(true)
            ),
            Err(RunError::Cancelled)
        ));
        assert_eq!(last_line(b"a\nlast \x1b[31mline\n\n"), "last [31mline");
    }
}
