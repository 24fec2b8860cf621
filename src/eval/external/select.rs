//! Which calls an entry evaluates: a deterministic sample of span ids, plus (failure-biased)
//! errors, slow calls and cost outliers.

use crate::model::ids::SpanId;
use std::collections::VecDeque;

/// Whether a span falls in a sample of `share` (0..=1). A fixed hash of the span id (splitmix64,
/// no per-process seed), so every run, live or replayed, samples the same spans; a smaller
/// share samples a subset of a larger one.
pub fn sampled(span: SpanId, share: f64) -> bool {
    if share >= 1.0 {
        return true;
    }
    let mut z = u64::from_be_bytes(span.0).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // The top 53 bits as a fraction in 0..1.
    ((z >> 11) as f64 / (1u64 << 53) as f64) < share
}

/// Why a call was chosen (in the payload as `selected_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Sample,
    Error,
    Slow,
    CostOutlier,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sample => "sample",
            Self::Error => "error",
            Self::Slow => "slow",
            Self::CostOutlier => "cost_outlier",
        }
    }
}

/// Recent costs kept per model for the running median.
pub const COST_WINDOW: usize = 101;
/// Costs a model must have before any of its calls can be an outlier.
pub const MIN_COSTS: usize = 20;
/// Models tracked at once; past it the tracker starts over (bounded under hostile model names).
const MAX_MODELS: usize = 1024;

/// Running medians of recent call costs per model: a call is a cost outlier when it costs more
/// than `factor` times the median of the model's last [`COST_WINDOW`] priced calls before it
/// (and the model has at least [`MIN_COSTS`] of them, and their median is above zero).
#[derive(Debug, Default)]
pub struct CostMedians {
    by_model: foldhash::HashMap<Box<str>, VecDeque<f64>>,
    scratch: Vec<f64>,
}

impl CostMedians {
    /// The median of the model's recent costs (before this call), then records this call's.
    pub fn median_then_record(&mut self, model: &str, cost: f64) -> Option<f64> {
        if !cost.is_finite() || cost < 0.0 {
            return None;
        }
        if self.by_model.len() >= MAX_MODELS && !self.by_model.contains_key(model) {
            self.by_model.clear();
        }
        let recent = self.by_model.entry(model.into()).or_default();
        let median = (recent.len() >= MIN_COSTS).then(|| {
            self.scratch.clear();
            self.scratch.extend(recent.iter().copied());
            let mid = self.scratch.len() / 2;
            *self.scratch.select_nth_unstable_by(mid, f64::total_cmp).1
        });
        if recent.len() == COST_WINDOW {
            recent.pop_front();
        }
        recent.push_back(cost);
        median
    }
}

/// Whether `cost` is an outlier against `median` at `factor`.
pub fn is_cost_outlier(cost: f64, median: Option<f64>, factor: f64) -> bool {
    median.is_some_and(|m| m > 0.0 && cost > factor * m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_nested_and_near_the_share() {
        let ids: Vec<SpanId> = (0..20_000u64)
            .map(|i| SpanId((i * 7919 + 13).to_be_bytes()))
            .collect();
        let count = |share| ids.iter().filter(|&&id| sampled(id, share)).count();
        let tenth = count(0.1);
        assert!((1800..2200).contains(&tenth), "{tenth}");
        assert_eq!(count(0.1), tenth, "same spans every time");
        assert_eq!(count(0.0), 0);
        assert_eq!(count(1.0), ids.len());
        // A smaller share is a subset of a larger one.
        assert!(
            ids.iter()
                .filter(|&&id| sampled(id, 0.05))
                .all(|&id| sampled(id, 0.2))
        );
        // Pinned values: a change of hash would change what replays evaluate.
        let id = |n: u64| SpanId(n.to_be_bytes());
        assert!(!sampled(id(1), 0.5) && sampled(id(1), 0.6)); // 0.5666
        assert!(!sampled(id(3), 0.1) && sampled(id(3), 0.12)); // 0.1135
    }

    #[test]
    fn cost_outliers_against_the_running_median() {
        let mut m = CostMedians::default();
        for i in 0..MIN_COSTS {
            assert_eq!(m.median_then_record("gpt-4o", 0.01 + i as f64 * 1e-4), None);
        }
        let median = m.median_then_record("gpt-4o", 0.05);
        assert_eq!(median, Some(0.01 + 10.0 * 1e-4));
        assert!(is_cost_outlier(0.05, median, 3.0));
        assert!(!is_cost_outlier(0.02, median, 3.0));
        // Another model has its own history.
        assert_eq!(m.median_then_record("gpt-4o-mini", 1.0), None);
        // A median of zero (free calls) makes nothing an outlier; nor does a missing one.
        assert!(!is_cost_outlier(1.0, Some(0.0), 3.0));
        assert!(!is_cost_outlier(1.0, None, 3.0));
        // The window slides.
        for _ in 0..COST_WINDOW {
            m.median_then_record("gpt-4o", 1.0);
        }
        assert_eq!(m.median_then_record("gpt-4o", 1.0), Some(1.0));
        assert_eq!(m.by_model["gpt-4o"].len(), COST_WINDOW);
        assert_eq!(m.median_then_record("gpt-4o", f64::NAN), None);
    }
}
