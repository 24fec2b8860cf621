//! Why a trace is worth keeping longer than plain traffic (issue 14, failure-biased
//! retention): the reasons a trace is *kept*, as a small bit set carried by each [`Trace`].
//!
//! The reasons are the review queue's too: a trace kept for a reason is one a person may need
//! to look at. [`KeepReason::ALL`] is in review priority order (alert examples first).
//!
//! [`Trace`]: super::Trace

/// One reason to keep a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum KeepReason {
    /// One of an alert's example traces.
    AlertExample = 0,
    /// A user complained: a thumbs-down (or negative) feedback verdict.
    ThumbsDown = 1,
    /// A verdict (any source) failed.
    FailedVerdict = 2,
    /// A span has status ERROR.
    Error = 3,
    /// The trace's cost is an outlier of its cohort (the outlier pane's rule).
    CostOutlier = 4,
    /// A model call took longer than its route's latency budget or the cohort's p99.
    Slow = 5,
    /// A person reviewed or annotated it (a human verdict or note).
    Human = 6,
    /// Put in the review queue by hand.
    ReviewQueue = 7,
}

impl KeepReason {
    /// Every reason, in review priority order.
    pub const ALL: [KeepReason; 8] = [
        Self::AlertExample,
        Self::ThumbsDown,
        Self::FailedVerdict,
        Self::Error,
        Self::CostOutlier,
        Self::Slow,
        Self::Human,
        Self::ReviewQueue,
    ];

    /// The name used in the summary (`retention.held_traces_by_reason`) and the filter
    /// (`kept:failed_verdict`).
    pub fn name(self) -> &'static str {
        match self {
            Self::AlertExample => "alert_example",
            Self::ThumbsDown => "thumbs_down",
            Self::FailedVerdict => "failed_verdict",
            Self::Error => "error",
            Self::CostOutlier => "cost_outlier",
            Self::Slow => "slow",
            Self::Human => "human",
            Self::ReviewQueue => "review_queue",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`KeepReason`]s; empty for a plain trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeepReasons(u8);

impl KeepReasons {
    pub const NONE: KeepReasons = KeepReasons(0);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, r: KeepReason) -> bool {
        self.0 & r.bit() != 0
    }

    /// Adds `r`; true when it was not there before.
    pub fn insert(&mut self, r: KeepReason) -> bool {
        let new = !self.contains(r);
        self.0 |= r.bit();
        new
    }

    pub fn remove(&mut self, r: KeepReason) {
        self.0 &= !r.bit();
    }

    /// The reasons held, in priority order.
    pub fn iter(self) -> impl Iterator<Item = KeepReason> {
        KeepReason::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The most urgent reason held (the review queue's order), if any.
    pub fn first(self) -> Option<KeepReason> {
        self.iter().next()
    }
}

/// The reasons one verdict gives to keep its trace: failed (any source), a user's thumbs-down,
/// a person's verdict, and a built-in latency budget missed (slow).
pub fn verdict_reasons(v: &crate::semconv::Verdict) -> KeepReasons {
    let failed = v.passed == Some(false);
    let mut set = KeepReasons::NONE;
    if failed {
        set.insert(KeepReason::FailedVerdict);
    }
    if v.is_thumbs_down() {
        set.insert(KeepReason::ThumbsDown);
    }
    if v.is_human() {
        set.insert(KeepReason::Human);
    }
    if failed
        && v.source == crate::semconv::VerdictSource::Llmwatch
        && &*v.name == crate::eval::names::LATENCY_BUDGET
    {
        set.insert(KeepReason::Slow);
    }
    set
}

pub use crate::config::DEFAULT_KEEP_SHARE;

impl FromIterator<KeepReason> for KeepReasons {
    fn from_iter<I: IntoIterator<Item = KeepReason>>(iter: I) -> Self {
        let mut set = KeepReasons::NONE;
        for r in iter {
            set.insert(r);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_is_priority() {
        for r in KeepReason::ALL {
            assert_eq!(KeepReason::from_name(r.name()), Some(r));
        }
        assert_eq!(KeepReason::from_name("nope"), None);
        let set: KeepReasons = [KeepReason::Slow, KeepReason::AlertExample].into_iter().collect();
        assert_eq!(set.first(), Some(KeepReason::AlertExample));
        assert_eq!(set.iter().count(), 2);
        let mut s = set;
        assert!(!s.insert(KeepReason::Slow));
        s.remove(KeepReason::AlertExample);
        assert_eq!(s.first(), Some(KeepReason::Slow));
        assert!(KeepReasons::NONE.is_empty());
    }
}
