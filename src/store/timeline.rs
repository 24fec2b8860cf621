//! Per-second aggregates in event time for the last hour, updated as spans arrive so that panes
//! and summaries never rescan the buffer. A ring of 3,600 slots indexed by second; the newest
//! second seen in the data is the clock, so a replayed capture builds the same timeline as the
//! live run that recorded it.

use super::histogram::LogHistogram;

pub const WINDOW_SECS: u64 = 3600;

#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Unix second this slot currently holds.
    pub second: u64,
    pub spans: u32,
    pub traces: u32,
    pub errors: u32,
    pub logs: u32,
    /// Span durations, allocated on first use.
    pub durations: Option<Box<LogHistogram>>,
}

#[derive(Debug)]
pub struct Timeline {
    slots: Vec<Bucket>,
    newest: Option<u64>,
    histograms: usize,
    /// Items older than the window when they arrived; counted, not bucketed.
    pub too_old: u64,
    /// Items too far ahead of the wall clock (a skewed client clock); counted, not bucketed, so
    /// one bad timestamp cannot wipe the hour.
    pub too_new: u64,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            slots: vec![Bucket::default(); WINDOW_SECS as usize],
            newest: None,
            histograms: 0,
            too_old: 0,
            too_new: 0,
        }
    }
}

impl Timeline {
    /// The newest second seen: the timeline's "now" in event time.
    pub fn newest_second(&self) -> Option<u64> {
        self.newest
    }

    /// Estimated bytes held (fixed ring plus allocated histograms).
    pub fn bytes(&self) -> usize {
        self.slots.len() * size_of::<Bucket>() + self.histograms * LogHistogram::BYTES
    }

    /// The slot for `second`, after advancing the clock; `None` when out of the window or beyond
    /// `max_second`.
    pub fn bucket_mut(&mut self, second: u64, max_second: Option<u64>) -> Option<&mut Bucket> {
        if max_second.is_some_and(|max| second > max) {
            self.too_new += 1;
            return None;
        }
        let newest = *self.newest.get_or_insert(second);
        if second + WINDOW_SECS <= newest {
            self.too_old += 1;
            return None;
        }
        if second > newest {
            self.newest = Some(second);
        }
        let slot = &mut self.slots[(second % WINDOW_SECS) as usize];
        if slot.second != second {
            if slot.durations.is_some() {
                self.histograms -= 1;
            }
            *slot = Bucket {
                second,
                ..Bucket::default()
            };
        }
        Some(slot)
    }

    /// Records a span duration in `second`'s histogram, allocating it if needed.
    pub fn record_duration(&mut self, second: u64, micros: u64) {
        let Some(bucket) = self.bucket_mut(second, None) else {
            return;
        };
        let h = bucket.durations.get_or_insert_with(Box::default);
        let new = h.count() == 0;
        h.record(micros);
        if new {
            self.histograms += 1;
        }
    }

    /// Buckets of the last `secs` seconds ending at the newest, oldest first; seconds with no
    /// data are skipped.
    pub fn window(&self, secs: u64) -> impl Iterator<Item = &Bucket> {
        let newest = self.newest.unwrap_or(0);
        let secs = if self.newest.is_some() {
            secs.min(WINDOW_SECS)
        } else {
            0
        };
        let first = (newest + 1).saturating_sub(secs);
        (first..first + secs).filter_map(move |s| {
            let b = &self.slots[(s % WINDOW_SECS) as usize];
            (b.second == s && s != 0).then_some(b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_one_hour_of_event_time() {
        let mut t = Timeline::default();
        let start = 1_800_000_000;
        t.bucket_mut(start, None).unwrap().spans += 1;
        t.bucket_mut(start + 10, None).unwrap().spans += 2;
        assert_eq!(t.window(60).map(|b| b.spans).sum::<u32>(), 3);
        assert_eq!(t.window(5).map(|b| b.spans).sum::<u32>(), 2);
        // An hour later the first slot is reused and the old second is gone.
        t.bucket_mut(start + WINDOW_SECS, None).unwrap().spans += 5;
        assert_eq!(t.window(WINDOW_SECS).map(|b| b.spans).sum::<u32>(), 7);
        assert!(t.bucket_mut(start, None).is_none());
        assert_eq!(t.too_old, 1);
    }

    #[test]
    fn late_data_inside_the_window_still_lands() {
        let mut t = Timeline::default();
        let start = 1_800_000_000;
        t.bucket_mut(start + 100, None).unwrap().spans += 1;
        t.bucket_mut(start + 50, None).unwrap().spans += 1;
        assert_eq!(t.newest_second(), Some(start + 100));
        assert_eq!(t.window(60).count(), 2);
    }

    #[test]
    fn far_future_timestamps_do_not_move_the_clock() {
        let mut t = Timeline::default();
        t.bucket_mut(1_800_000_000, Some(1_800_000_300)).unwrap().spans += 1;
        assert!(t.bucket_mut(2_800_000_000, Some(1_800_000_300)).is_none());
        assert_eq!(t.too_new, 1);
        assert_eq!(t.newest_second(), Some(1_800_000_000));
    }

    #[test]
    fn histograms_are_allocated_lazily_and_accounted() {
        let mut t = Timeline::default();
        let base = t.bytes();
        t.record_duration(1_800_000_000, 1500);
        t.record_duration(1_800_000_000, 2500);
        assert_eq!(t.bytes(), base + LogHistogram::BYTES);
        t.record_duration(1_800_000_000 + WINDOW_SECS, 10);
        assert_eq!(
            t.bytes(),
            base + LogHistogram::BYTES,
            "slot reuse frees the old histogram"
        );
    }
}
