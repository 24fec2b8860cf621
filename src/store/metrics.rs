//! The metric store: OTLP metric points kept as a bounded set of series (metric name × the
//! attributes that matter), each with its current value or histogram buckets and a short
//! event-time series for a sparkline.
//!
//! Cumulative points are turned into deltas per original stream (its full attribute set),
//! because several streams fold into one series once unimportant attributes are dropped: adding
//! their cumulative totals would count every export again, and keeping the last one would lose
//! the others. A stream whose start time moves or whose value falls was reset: its new value
//! is the delta.
//!
//! Memory is its own small fixed bound, not the trace store's budget: at most
//! [`MAX_SERIES`] series of at most [`SLOTS`] sparkline slots and [`MAX_BUCKETS`] buckets, and
//! [`MAX_STREAMS`] remembered streams (a few megabytes at most). Series beyond the cap are
//! counted in [`MetricStore::dropped_series`] and not kept.

use std::collections::{HashMap, VecDeque};

/// Series kept at most; points of further series are counted and dropped.
pub const MAX_SERIES: usize = 1000;
/// Cumulative streams remembered at most (their last value, to make deltas).
pub const MAX_STREAMS: usize = 4 * MAX_SERIES;
/// Histogram buckets kept per series (exponential histograms beyond it fold into the last).
pub const MAX_BUCKETS: usize = 256;
/// Sparkline slots per series, each [`SLOT_SECS`] of event time.
pub const SLOTS: usize = 30;
pub const SLOT_SECS: u64 = 10;

/// One metric point, converted from OTLP, with its series key and its stream key.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    pub name: String,
    pub unit: String,
    /// The attributes that matter (see the ingest's conversion), sorted by key.
    pub attrs: Vec<(String, String)>,
    /// A hash of the point's resource and full attribute set: one cumulative stream.
    pub stream: u64,
    pub start_unix_nano: u64,
    pub time_unix_nano: u64,
    pub point: Point,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    Gauge(f64),
    Sum {
        value: f64,
        cumulative: bool,
    },
    /// Explicit bounds (ascending) and `bounds.len() + 1` counts; exponential histograms are
    /// converted to this shape.
    Histogram {
        count: u64,
        sum: f64,
        bounds: Vec<f64>,
        counts: Vec<u64>,
        min: Option<f64>,
        max: Option<f64>,
        cumulative: bool,
    },
}

/// What a series holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Gauge(f64),
    /// The sum of every delta seen (since llmwatch started watching).
    Sum(f64),
    Histogram(Buckets),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Buckets {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Buckets {
    /// The `q` quantile (0..=1) by linear interpolation inside the bucket that holds it; the
    /// open-ended first and last buckets are closed by the smallest and largest value seen
    /// when the exporter sent them, else by the nearest bound. `None` without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).max(1.0);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            if (seen + c) as f64 >= rank {
                let upper_bound = self.bounds.get(i).copied();
                let lower_bound = i.checked_sub(1).and_then(|j| self.bounds.get(j)).copied();
                let lo = match lower_bound {
                    Some(b) => self.min.map_or(b, |m| m.max(b)),
                    None => self
                        .min
                        .unwrap_or_else(|| upper_bound.map_or(0.0, |u| u.min(0.0))),
                };
                let hi = match upper_bound {
                    Some(b) => self.max.map_or(b, |m| m.min(b)),
                    None => self.max.unwrap_or(lo),
                };
                let within = (rank - seen as f64) / c as f64;
                return Some(lo + (hi - lo).max(0.0) * within);
            }
            seen += c;
        }
        self.max
    }

    fn add(&mut self, other: &Buckets) {
        if self.bounds != other.bounds {
            // New bucket layout (or a first point): start again from this one.
            *self = other.clone();
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = min_opt(self.min, other.min);
        self.max = max_opt(self.max, other.max);
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// One series: a metric name with the attributes that matter.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub attrs: Vec<(String, String)>,
    pub value: Value,
    /// Newest point's event time.
    pub last_unix_nano: u64,
    /// Sparkline: per [`SLOT_SECS`] slot of event time, the gauge's last value, the sum's
    /// increase, or the histogram's mean of the observations that arrived in it.
    pub spark: VecDeque<(u64, f64)>,
    /// Histograms' per-slot sums and counts, to make the means.
    spark_hist: VecDeque<(u64, f64, u64)>,
}

impl Series {
    /// The sparkline's values, oldest first, one per slot up to `newest_slot` (gaps are 0).
    pub fn spark_values(&self, newest_slot: u64, n: usize) -> Vec<f64> {
        let first = newest_slot.saturating_sub(n as u64 - 1);
        let mut out = vec![0.0; n];
        for &(slot, v) in &self.spark {
            if slot >= first && slot <= newest_slot {
                out[(slot - first) as usize] = v;
            }
        }
        out
    }

    fn note_slot(&mut self, slot: u64, f: impl FnOnce(Option<f64>) -> f64) {
        let newest = self.spark.back().map(|(s, _)| *s);
        // Late points for an older slot go into it when it is still held.
        if let Some((_, v)) = self.spark.iter_mut().rev().find(|(s, _)| *s == slot) {
            *v = f(Some(*v));
        } else if newest.is_none_or(|n| n < slot) {
            self.spark.push_back((slot, f(None)));
            while self.spark.len() > SLOTS {
                self.spark.pop_front();
            }
        }
    }

    fn note_hist_slot(&mut self, slot: u64, sum: f64, count: u64) {
        if count == 0 {
            return;
        }
        let newest = self.spark_hist.back().map(|(s, ..)| *s);
        let (s, c) = if let Some(e) = self.spark_hist.iter_mut().rev().find(|(s, ..)| *s == slot) {
            e.1 += sum;
            e.2 += count;
            (e.1, e.2)
        } else if newest.is_none_or(|n| n < slot) {
            self.spark_hist.push_back((slot, sum, count));
            while self.spark_hist.len() > SLOTS {
                self.spark_hist.pop_front();
            }
            (sum, count)
        } else {
            return;
        };
        self.note_slot(slot, |_| s / c as f64);
    }
}

/// What a cumulative stream last reported.
#[derive(Clone, Debug)]
enum Last {
    Sum { start: u64, value: f64 },
    Histogram { start: u64, buckets: Buckets },
}

#[derive(Debug, Default)]
pub struct MetricStore {
    series: Vec<Series>,
    by_key: HashMap<(String, Vec<(String, String)>), usize>,
    streams: HashMap<(u64, String), Last>,
    /// Points of series beyond [`MAX_SERIES`].
    dropped_points: u64,
    /// Distinct series refused (counted once each, while their key is remembered).
    dropped_series: u64,
    refused: std::collections::HashSet<u64>,
    /// Bumped on every change, so a view knows when to rebuild.
    pub generation: u64,
    newest_unix_nano: u64,
}

impl MetricStore {
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    pub fn dropped_series(&self) -> u64 {
        self.dropped_series
    }

    pub fn dropped_points(&self) -> u64 {
        self.dropped_points
    }

    /// The newest point's event time (ns).
    pub fn newest_unix_nano(&self) -> u64 {
        self.newest_unix_nano
    }

    pub fn insert(&mut self, samples: impl IntoIterator<Item = MetricSample>) {
        for s in samples {
            self.insert_one(s);
        }
    }

    fn insert_one(&mut self, s: MetricSample) {
        let key = (s.name.clone(), s.attrs.clone());
        let at = match self.by_key.get(&key) {
            Some(&i) => i,
            None if self.series.len() >= MAX_SERIES => {
                self.dropped_points += 1;
                let h = hash_key(&key);
                // The set of refused keys is itself bounded: past it, every point counts anew.
                if self.refused.len() < MAX_STREAMS && self.refused.insert(h) {
                    self.dropped_series += 1;
                }
                return;
            }
            None => {
                let value = match &s.point {
                    Point::Gauge(_) => Value::Gauge(0.0),
                    Point::Sum { .. } => Value::Sum(0.0),
                    Point::Histogram { .. } => Value::Histogram(Buckets::default()),
                };
                self.series.push(Series {
                    name: s.name.clone(),
                    unit: s.unit.clone(),
                    attrs: s.attrs.clone(),
                    value,
                    last_unix_nano: 0,
                    spark: VecDeque::new(),
                    spark_hist: VecDeque::new(),
                });
                self.by_key.insert(key, self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let slot = s.time_unix_nano / 1_000_000_000 / SLOT_SECS;
        self.newest_unix_nano = self.newest_unix_nano.max(s.time_unix_nano);
        self.generation += 1;
        let stream_key = (s.stream, s.name.clone());
        let delta = match s.point {
            Point::Gauge(v) => {
                let series = &mut self.series[at];
                if s.time_unix_nano >= series.last_unix_nano {
                    series.value = Value::Gauge(v);
                }
                series.last_unix_nano = series.last_unix_nano.max(s.time_unix_nano);
                series.note_slot(slot, |_| v);
                return;
            }
            Point::Sum { value, cumulative } => {
                let d = if cumulative {
                    let prev = self.remember(
                        stream_key,
                        Last::Sum {
                            start: s.start_unix_nano,
                            value,
                        },
                    );
                    match prev {
                        Some(Last::Sum { start, value: old })
                            if start == s.start_unix_nano && value >= old =>
                        {
                            value - old
                        }
                        _ => value,
                    }
                } else {
                    value
                };
                Delta::Sum(d)
            }
            Point::Histogram {
                count,
                sum,
                bounds,
                counts,
                min,
                max,
                cumulative,
            } => {
                let now = Buckets {
                    bounds,
                    counts,
                    count,
                    sum,
                    min,
                    max,
                };
                let d = if cumulative {
                    let prev = self.remember(
                        stream_key,
                        Last::Histogram {
                            start: s.start_unix_nano,
                            buckets: now.clone(),
                        },
                    );
                    match prev {
                        Some(Last::Histogram { start, buckets: old })
                            if start == s.start_unix_nano
                                && old.bounds == now.bounds
                                && now.count >= old.count =>
                        {
                            Buckets {
                                counts: now
                                    .counts
                                    .iter()
                                    .zip(&old.counts)
                                    .map(|(n, o)| n.saturating_sub(*o))
                                    .collect(),
                                count: now.count - old.count,
                                sum: now.sum - old.sum,
                                // A cumulative min/max is over the stream's whole life.
                                ..now
                            }
                        }
                        _ => now,
                    }
                } else {
                    now
                };
                Delta::Histogram(d)
            }
        };
        let series = &mut self.series[at];
        series.last_unix_nano = series.last_unix_nano.max(s.time_unix_nano);
        match (delta, &mut series.value) {
            (Delta::Sum(d), Value::Sum(total)) => {
                *total += d;
                series.note_slot(slot, |v| v.unwrap_or(0.0) + d);
            }
            (Delta::Histogram(d), Value::Histogram(b)) => {
                b.add(&d);
                series.note_hist_slot(slot, d.sum, d.count);
            }
            // The same name sent as another kind: the newest kind wins.
            (Delta::Sum(d), v) => {
                *v = Value::Sum(d);
                series.spark.clear();
            }
            (Delta::Histogram(d), v) => {
                *v = Value::Histogram(d);
                series.spark.clear();
                series.spark_hist.clear();
            }
        }
    }

    /// Remembers a cumulative stream's last point; returns the one before. Past
    /// [`MAX_STREAMS`] the memory starts again (the next point of each stream counts whole).
    fn remember(&mut self, key: (u64, String), last: Last) -> Option<Last> {
        if self.streams.len() >= MAX_STREAMS && !self.streams.contains_key(&key) {
            self.streams.clear();
        }
        self.streams.insert(key, last)
    }
}

enum Delta {
    Sum(f64),
    Histogram(Buckets),
}

pub(crate) fn hash_key<T: std::hash::Hash>(t: &T) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn sample(attrs: &[(&str, &str)], stream: u64, start: u64, time: u64, point: Point) -> MetricSample {
        MetricSample {
            name: "m".into(),
            unit: "1".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stream,
            start_unix_nano: start,
            time_unix_nano: time,
            point,
        }
    }

    fn sum(value: f64, cumulative: bool) -> Point {
        Point::Sum { value, cumulative }
    }

    fn hist(counts: &[u64], bounds: &[f64], cumulative: bool) -> Point {
        Point::Histogram {
            count: counts.iter().sum(),
            sum: 0.0,
            bounds: bounds.to_vec(),
            counts: counts.to_vec(),
            min: None,
            max: None,
            cumulative,
        }
    }

    #[test]
    fn cumulative_sums_become_deltas_per_stream_and_resets_count_whole() {
        let mut m = MetricStore::default();
        // Two streams (say two HTTP methods) fold into one series.
        m.insert([
            sample(&[("a", "x")], 1, 0, 10 * S, sum(5.0, true)),
            sample(&[("a", "x")], 2, 0, 10 * S, sum(3.0, true)),
            sample(&[("a", "x")], 1, 0, 20 * S, sum(7.0, true)),
            sample(&[("a", "x")], 2, 0, 20 * S, sum(3.0, true)),
        ]);
        assert_eq!(m.series().len(), 1);
        assert_eq!(m.series()[0].value, Value::Sum(10.0));
        // Stream 1 restarts (new start time): its value counts whole.
        m.insert([sample(&[("a", "x")], 1, 15 * S, 30 * S, sum(1.0, true))]);
        assert_eq!(m.series()[0].value, Value::Sum(11.0));
        // A fall without a new start time is a reset too.
        m.insert([sample(&[("a", "x")], 2, 0, 30 * S, sum(2.0, true))]);
        assert_eq!(m.series()[0].value, Value::Sum(13.0));
        // Sparkline: per 10 s slot, the increase.
        assert_eq!(m.series()[0].spark_values(3, 3), vec![8.0, 2.0, 3.0]);
    }

    #[test]
    fn delta_sums_add_and_gauges_keep_the_newest() {
        let mut m = MetricStore::default();
        m.insert([
            sample(&[], 1, 0, 10 * S, sum(2.0, false)),
            sample(&[], 1, 0, 11 * S, sum(2.5, false)),
        ]);
        assert_eq!(m.series()[0].value, Value::Sum(4.5));
        let mut g = MetricStore::default();
        g.insert([
            sample(&[], 1, 0, 20 * S, Point::Gauge(3.0)),
            // Late point: does not replace the newer value.
            sample(&[], 1, 0, 10 * S, Point::Gauge(9.0)),
        ]);
        assert_eq!(g.series()[0].value, Value::Gauge(3.0));
    }

    #[test]
    fn histogram_quantiles_from_explicit_bounds() {
        // 100 observations: 50 in (0,10], 40 in (10,100], 10 in (100,1000].
        let b = Buckets {
            bounds: vec![10.0, 100.0, 1000.0],
            counts: vec![50, 40, 10, 0],
            count: 100,
            ..Buckets::default()
        };
        assert_eq!(b.quantile(0.5), Some(10.0));
        let p95 = b.quantile(0.95).unwrap();
        assert!((p95 - 550.0).abs() < 1e-9, "{p95}");
        // min/max close the open ends.
        let b = Buckets {
            bounds: vec![10.0],
            counts: vec![0, 4],
            count: 4,
            max: Some(30.0),
            ..Buckets::default()
        };
        assert_eq!(b.quantile(1.0), Some(30.0));
        assert_eq!(Buckets::default().quantile(0.5), None);
    }

    #[test]
    fn cumulative_histograms_subtract_the_previous_point() {
        let mut m = MetricStore::default();
        let bounds = [1.0, 2.0];
        m.insert([
            sample(&[], 7, 0, 10 * S, hist(&[1, 0, 0], &bounds, true)),
            sample(&[], 7, 0, 20 * S, hist(&[1, 3, 0], &bounds, true)),
        ]);
        let Value::Histogram(b) = &m.series()[0].value else {
            panic!()
        };
        assert_eq!(b.counts, vec![1, 3, 0]);
        assert_eq!(b.count, 4);
        // Delta histograms add.
        m.insert([sample(&[], 8, 0, 20 * S, hist(&[0, 0, 2], &bounds, false))]);
        let Value::Histogram(b) = &m.series()[0].value else {
            panic!()
        };
        assert_eq!(b.counts, vec![1, 3, 2]);
    }

    #[test]
    fn series_beyond_the_cap_are_counted_not_kept() {
        let mut m = MetricStore::default();
        for i in 0..MAX_SERIES + 5 {
            let v = i.to_string();
            m.insert([sample(&[("k", &v)], i as u64, 0, S, sum(1.0, false))]);
        }
        // A second point of a refused series counts as a dropped point, not a new series.
        m.insert([sample(&[("k", "1000")], 0, 0, S, sum(1.0, false))]);
        assert_eq!(m.series().len(), MAX_SERIES);
        assert_eq!(m.dropped_series(), 5);
        assert_eq!(m.dropped_points(), 6);
    }
}
