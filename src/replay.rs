//! Replay pacing: captured messages are fed at their recorded pace (event time drives the
//! clock), or faster, or as fast as possible. Several files are merged in event-time order.

use crate::ingest::capture::Message;
use std::str::FromStr;
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
        if !(n.is_finite() && n > 0.0) {
            return Err(format!("invalid speed {s:?}: must be above 0"));
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
            .map(|l| {
                if l.time_unix_nano > 0 {
                    l.time_unix_nano
                } else {
                    l.observed_time_unix_nano
                }
            })
            .filter(|t| *t > 0)
            .min(),
        Message::Metrics(_) => None,
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

    /// How long to wait, at `now`, before feeding a message stamped `event`.
    pub fn delay(&mut self, event: Option<u64>, now: Instant) -> Duration {
        let (Speed::Times(factor), Some(event)) = (self.speed, event) else {
            return Duration::ZERO;
        };
        let (wall0, event0) = *self.origin.get_or_insert((now, event));
        let offset = Duration::from_secs_f64(event.saturating_sub(event0) as f64 / 1e9 / factor);
        (wall0 + offset).saturating_duration_since(now)
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
    fn files_merge_in_event_time_order() {
        let a = vec![(Some(1), "a1"), (Some(5), "a5"), (Some(9), "a9")].into_iter();
        let b = vec![(Some(2), "b2"), (None, "b-untimed"), (Some(6), "b6")].into_iter();
        let merged: Vec<&str> = Merge::new(vec![a, b]).map(|(_, x)| x).collect();
        assert_eq!(merged, vec!["a1", "b2", "b-untimed", "a5", "b6", "a9"]);
    }
}
