//! Replay pacing: captured messages are fed at their recorded pace (event time drives the
//! clock), or faster, or as fast as possible. Several files are merged in event-time order.

use crate::ingest::capture::Message;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// Event time runs this many times faster than the wall clock.
    Times(f64),
    /// No waiting at all.
    Max,
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "max" {
            return Ok(Self::Max);
        }
        let n: f64 = t
            .trim_end_matches('x')
            .parse()
            .map_err(|_| format!("invalid speed {s:?}: a factor like 1, 10, 0.5 or max"))?;
        if !(n.is_finite() && (0.001..=1e6).contains(&n)) {
            return Err(format!(
                "invalid speed {s:?}: a factor from 0.001 to 1000000, or max"
            ));
        }
        Ok(Self::Times(n))
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Max => f.write_str("max"),
            Self::Times(n) => write!(f, "{n}x"),
        }
    }
}

/// The event time a message stands at: its earliest span start or log time. Metrics (and
/// messages without timestamps) have none and are fed without waiting.
pub fn event_time(message: &Message) -> Option<u64> {
    match message {
        Message::Traces(req) => req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.start_time_unix_nano)
            .filter(|t| *t > 0)
            .min(),
        Message::Logs(req) => req
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|l| crate::model::log_event_time(l.time_unix_nano, l.observed_time_unix_nano))
            .filter(|t| *t > 0)
            .min(),
        Message::Metrics(_) => None,
        Message::Converted(c) => c.event_time,
    }
}

/// Maps event time to wall time: the first message sets the origin; later ones wait until
/// `origin + (event - first event) / speed`. Event time that goes backwards never waits.
#[derive(Debug)]
pub struct Pacer {
    speed: Speed,
    origin: Option<(Instant, u64)>,
}

impl Pacer {
    pub fn new(speed: Speed) -> Self {
        Self { speed, origin: None }
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    /// Changes the pace from here on: the next message sets a new origin, so a speed change or
    /// a resume after a pause does not try to catch up on lost time.
    pub fn set_speed(&mut self, speed: Speed) {
        self.speed = speed;
        self.origin = None;
    }

    /// How long to wait, at `now`, before feeding a message stamped `event`. A jump of more
    /// than [`MAX_GAP_NANOS`] past the origin (a capture with one bogus early timestamp, or a
    /// day's pause) starts a new origin instead of waiting it out.
    pub fn delay(&mut self, event: Option<u64>, now: Instant) -> Duration {
        let (Speed::Times(factor), Some(event)) = (self.speed, event) else {
            return Duration::ZERO;
        };
        let (wall0, event0) = *self.origin.get_or_insert((now, event));
        let ahead = event.saturating_sub(event0);
        let wait = Duration::try_from_secs_f64(ahead as f64 / 1e9 / factor).ok();
        match wait.and_then(|w| wall0.checked_add(w)) {
            Some(due) if due.saturating_duration_since(now).as_nanos() <= u128::from(MAX_GAP_NANOS) => {
                due.saturating_duration_since(now)
            }
            _ => {
                self.origin = Some((now, event));
                Duration::ZERO
            }
        }
    }
}

/// Longest wait for one message (an hour of wall time); a longer gap is skipped.
pub const MAX_GAP_NANOS: u64 = 3_600_000_000_000;

/// The speeds the screen's faster/slower keys step through.
pub const SPEED_STEPS: [f64; 10] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, f64::INFINITY];

/// Shared between a replay's feeding thread and the screen: pause, speed and stop requests one
/// way, position and progress the other.
#[derive(Debug)]
pub struct ReplayControl {
    paused: AtomicBool,
    stop: AtomicBool,
    done: AtomicBool,
    /// `f64` bits of the factor; infinity stands for `max`.
    speed: AtomicU64,
    /// Event time of the newest message fed (unix ns).
    position: AtomicU64,
    /// Bytes of input read so far and in all (0: unknown, e.g. stdin).
    pub bytes_read: std::sync::Arc<AtomicU64>,
    pub bytes_total: AtomicU64,
}

impl ReplayControl {
    pub fn new(speed: Speed) -> Self {
        let c = Self {
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            done: AtomicBool::new(false),
            speed: AtomicU64::new(0),
            position: AtomicU64::new(0),
            bytes_read: Default::default(),
            bytes_total: AtomicU64::new(0),
        };
        c.set_speed(speed);
        c
    }

    pub fn speed(&self) -> Speed {
        let f = f64::from_bits(self.speed.load(Ordering::Relaxed));
        if f.is_infinite() {
            Speed::Max
        } else {
            Speed::Times(f)
        }
    }

    pub fn set_speed(&self, speed: Speed) {
        let f = match speed {
            Speed::Max => f64::INFINITY,
            Speed::Times(f) => f,
        };
        self.speed.store(f.to_bits(), Ordering::Relaxed);
    }

    /// One step faster (`up`) or slower along [`SPEED_STEPS`].
    pub fn step_speed(&self, up: bool) {
        let cur = f64::from_bits(self.speed.load(Ordering::Relaxed));
        let next = if up {
            SPEED_STEPS.iter().copied().find(|s| *s > cur)
        } else {
            SPEED_STEPS.iter().rev().copied().find(|s| *s < cur)
        };
        if let Some(n) = next {
            self.speed.store(n.to_bits(), Ordering::Relaxed);
        }
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn toggle_pause(&self) {
        self.paused.fetch_xor(true, Ordering::Relaxed);
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn set_done(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    pub fn done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    pub fn set_position(&self, event_unix_nano: u64) {
        self.position.fetch_max(event_unix_nano, Ordering::Relaxed);
    }

    /// Event time of the newest message fed, unix seconds.
    pub fn position_secs(&self) -> Option<u64> {
        let p = self.position.load(Ordering::Relaxed);
        (p > 0).then_some(p / 1_000_000_000)
    }

    /// Share of the input read (0..=1), when its size is known.
    pub fn progress(&self) -> Option<f64> {
        let total = self.bytes_total.load(Ordering::Relaxed);
        (total > 0).then(|| (self.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).min(1.0))
    }

    /// Waits while paused; returns whether the pace must restart (it was paused) and whether a
    /// stop was requested.
    pub fn hold(&self) -> bool {
        let mut held = false;
        while self.paused() && !self.stopped() {
            held = true;
            std::thread::sleep(Duration::from_millis(20));
        }
        held
    }
}

/// Counts the bytes read through it into a shared counter (replay progress).
pub struct CountingReader<R> {
    pub inner: R,
    pub count: std::sync::Arc<AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Merges per-file streams (each in event-time order already) into one stream in event-time
/// order. `next` of each source returns `(event time, item)`; items without a time go first.
pub struct Merge<S: Iterator<Item = (Option<u64>, T)>, T> {
    sources: Vec<std::iter::Peekable<S>>,
}

impl<S: Iterator<Item = (Option<u64>, T)>, T> Merge<S, T> {
    pub fn new(sources: Vec<S>) -> Self {
        Self {
            sources: sources.into_iter().map(Iterator::peekable).collect(),
        }
    }
}

impl<S: Iterator<Item = (Option<u64>, T)>, T> Iterator for Merge<S, T> {
    /// (source index, item)
    type Item = (usize, T);

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (i, s) in self.sources.iter_mut().enumerate() {
            if let Some((t, _)) = s.peek() {
                let t = t.unwrap_or(0);
                if best.is_none_or(|(_, b)| t < b) {
                    best = Some((i, t));
                }
            }
        }
        let (i, _) = best?;
        self.sources[i].next().map(|(_, item)| (i, item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("10".parse::<Speed>(), Ok(Speed::Times(10.0)));
        assert_eq!("2.5x".parse::<Speed>(), Ok(Speed::Times(2.5)));
        assert!("0".parse::<Speed>().is_err());
        assert!("1e-20".parse::<Speed>().is_err());
        assert!("1e300".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn the_pacer_follows_event_time_scaled_by_speed() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Speed::Times(10.0));
        assert_eq!(p.delay(Some(1_000_000_000_000), t0), Duration::ZERO);
        // 5 s of event time later at 10x: due 500 ms after the origin.
        assert_eq!(p.delay(Some(1_005_000_000_000), t0), Duration::from_millis(500));
        assert_eq!(
            p.delay(Some(1_005_000_000_000), t0 + Duration::from_millis(200)),
            Duration::from_millis(300)
        );
        // Going backwards (a late batch) never waits; neither do messages without a time.
        assert_eq!(p.delay(Some(999_000_000_000), t0), Duration::ZERO);
        assert_eq!(p.delay(None, t0), Duration::ZERO);
        let mut max = Pacer::new(Speed::Max);
        assert_eq!(max.delay(Some(5), t0), Duration::ZERO);
        assert_eq!(max.delay(Some(5_000_000_000_000), t0), Duration::ZERO);
    }

    #[test]
    fn speed_steps_and_pause_are_shared() {
        let c = ReplayControl::new(Speed::Times(1.0));
        c.step_speed(true);
        assert_eq!(c.speed(), Speed::Times(2.0));
        c.step_speed(false);
        c.step_speed(false);
        assert_eq!(c.speed(), Speed::Times(0.5));
        c.set_speed(Speed::Times(100.0));
        c.step_speed(true);
        assert_eq!(c.speed(), Speed::Max);
        c.step_speed(true);
        assert_eq!(c.speed(), Speed::Max, "max is the last step");
        c.step_speed(false);
        assert_eq!(c.speed(), Speed::Times(100.0));
        // A speed between steps moves to the neighbouring step.
        c.set_speed(Speed::Times(3.0));
        c.step_speed(true);
        assert_eq!(c.speed(), Speed::Times(5.0));
        assert!(!c.paused());
        c.toggle_pause();
        assert!(c.paused());
        c.request_stop();
        assert!(!c.hold(), "a stop ends the wait of a paused replay at once");
        assert_eq!(c.progress(), None);
        c.bytes_total.store(200, Ordering::Relaxed);
        c.bytes_read.store(50, Ordering::Relaxed);
        assert_eq!(c.progress(), Some(0.25));
    }

    #[test]
    fn a_new_speed_restarts_the_pace_from_the_next_message() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Speed::Times(1.0));
        p.delay(Some(1_000_000_000_000), t0);
        p.set_speed(Speed::Times(10.0));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(p.delay(Some(1_100_000_000_000), later), Duration::ZERO);
        assert_eq!(
            p.delay(Some(1_110_000_000_000), later),
            Duration::from_secs(1),
            "10 s of event time at 10x from the new origin"
        );
    }

    #[test]
    fn a_jump_of_more_than_an_hour_starts_a_new_origin() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Speed::Times(1.0));
        // A bogus first timestamp years early, then the real capture: no multi-year wait.
        assert_eq!(p.delay(Some(1_000_000_000), t0), Duration::ZERO);
        assert_eq!(p.delay(Some(1_800_000_000_000_000_000), t0), Duration::ZERO);
        assert_eq!(
            p.delay(Some(1_800_000_002_000_000_000), t0),
            Duration::from_secs(2),
            "paced again from the new origin"
        );
    }

    #[test]
    fn files_merge_in_event_time_order() {
        let a = vec![(Some(1), "a1"), (Some(5), "a5"), (Some(9), "a9")].into_iter();
        let b = vec![(Some(2), "b2"), (None, "b-untimed"), (Some(6), "b6")].into_iter();
        let merged: Vec<&str> = Merge::new(vec![a, b]).map(|(_, x)| x).collect();
        assert_eq!(merged, vec!["a1", "b2", "b-untimed", "a5", "b6", "a9"]);
    }
}
